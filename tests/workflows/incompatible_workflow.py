"""A deliberately incompatible ComplaintWorkflow: it waits on a timer before registering, as a
careless edit might. The replay suite must refuse it (see test_replay.py)."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.state import ComplaintState
    from workflows.complaint import ComplaintInput
    from workflows.complaint import ComplaintWorkflow as Current


@workflow.defn(name="ComplaintWorkflow")
class IncompatibleComplaintWorkflow(Current):
    @workflow.init
    def __init__(self, inp: ComplaintInput) -> None:
        super().__init__(inp)

    @workflow.run
    async def run(self, inp: ComplaintInput) -> ComplaintState:
        await workflow.sleep(timedelta(seconds=1))  # a new first command: history disagrees
        return await super().run(inp)
