"""The team as it stands when a complaint arrives: open complaints per member, who is away, and
the team lead. Read here, outside the workflow, and handed to the pure assignment rule
(domain.assignment) in the Register command, so the decision replays as it ran."""

from __future__ import annotations

from temporalio import activity

from activities.models import TeamLoadRequest
from domain.assignment import TeamLoad
from engine.contracts import ContractBook
from store.event_store import EventStore
from store.presence import PresenceLog
from store.workload import Workload


class AssignmentActivities:
    def __init__(self, store: EventStore, contracts: ContractBook | None = None) -> None:
        """Without `contracts` (a worker given no parties files) nobody is away by file and
        no team has a lead: the supervisors' marks and the load still decide."""
        self._workload = Workload(store.engine)
        self._presence = PresenceLog(store)
        self._contracts = contracts

    @activity.defn(name="team_load")
    def team_load(self, req: TeamLoadRequest) -> TeamLoad:
        members = set(req.members)
        away = [p for p in self._presence.periods(req.contract) if p.person in members]
        lead = None
        if self._contracts is not None and self._contracts.directories:
            directory = self._contracts.directory_of(req.contract)
            away += [p for p in directory.away_periods() if p.person in members]
            lead = directory.team_lead(req.team)
        return TeamLoad(
            open=self._workload.open_counts(req.contract, members), away=away, lead=lead
        )
