"""Client contracts: each client company's terms, as data.

A deployment serves several clients; each contract carries its own policy (time zone, calendar,
tiers and deadlines, categories, classification, routing and teams), its parties, its quality
targets and who receives its reports. A complaint belongs to one contract and pins the version
of its terms (a content hash), so an auditor can say which terms governed each complaint.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.policy import Policy
from domain.report_times import ReportTimes
from domain.vocabulary import DEFAULT_CONTRACT

VERSION_LENGTH = 16  # hex digits of the SHA-256: 64 bits, far beyond an accidental collision


class QualityTargets(BaseModel):
    """The contract's quality targets; each optional (absent: not promised). Shares are of the
    complaints a period settled; CSAT is the mean rating, 1 to 5."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    first_contact_resolution: float | None = Field(default=None, ge=0, le=1)
    csat: float | None = Field(default=None, ge=1, le=5)
    resolution_rate: float | None = Field(default=None, ge=0, le=1)
    first_response_in_time: float | None = Field(default=None, ge=0, le=1)


@dataclass(frozen=True)
class Contract:
    id: str
    name: str
    policy: Policy
    version: str  # terms_version(policy, parties)
    targets: QualityTargets = QualityTargets()
    report_recipients: tuple[str, ...] = ()
    # Inbound e-mail addressed to one of these belongs to this contract.
    mail_to: tuple[str, ...] = ()
    # A retired contract takes no new complaints; its open ones run to their end.
    retired: bool = False
    # When its weekly and monthly reports go out, in its policy's time zone.
    reports: ReportTimes = ReportTimes()


def terms_version(policy: Policy, parties: dict[str, Any]) -> str:
    """The version of a contract's terms: a hash of what governs its complaints' handling (the
    policy and who the parties are), blind to the files' comments and layout. Settings left at
    their defaults are left out, so a release that adds a setting (or a non-operator flag such
    as `closed_loop`) does not give every contract a new version with the same terms."""
    canonical = json.dumps(
        {"policy": policy.model_dump(mode="json", exclude_defaults=True), "parties": parties},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:VERSION_LENGTH]


class UnknownContract(LookupError):
    """Intake named a contract the deployment does not serve (or no longer serves)."""

    def __init__(self, contract_id: str, retired: bool = False) -> None:
        why = "is retired: it takes no new complaints" if retired else "is not served here"
        super().__init__(f"contract {contract_id!r} {why}")
        self.contract_id, self.retired = contract_id, retired


def contract_of(contract_id: str | None) -> str:
    """The contract a complaint belongs to (those from before contracts: the default one)."""
    return contract_id or DEFAULT_CONTRACT
