"""The yardstick for bench/intake.py: a workflow that runs one trivial activity."""

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def touch(n: int) -> int:
    return n


@workflow.defn
class BareWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        return await workflow.execute_activity(
            touch, n, start_to_close_timeout=timedelta(seconds=10)
        )
