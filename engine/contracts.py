"""The contracts a deployment serves, read from its files at start-up (README, Contracts).

COMPLAINTS_CONTRACTS names a contracts file:

    default = "acme"                 # intake that names no contract (the form at /)
    [[contracts]]
    id = "acme"
    name = "ACME Retail"
    policy = "acme/policy.toml"      # relative to this file
    parties = "acme/parties.toml"
    mail_to = ["complaints@acme.example"]
    report_recipients = ["ops@acme.example"]
    [contracts.reports]              # optional; these are the defaults (domain.report_times)
    weekly = "fri 16:30"
    monthly = "1 09:00"
    [contracts.targets]
    resolution_rate = 0.9

Without it, the deployment serves one contract, "default", made of COMPLAINTS_POLICY and
COMPLAINTS_PARTIES. A malformed contract stops start-up naming the contract, the key and the rule.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from delivery.directory import Directory, DirectoryError, load_directory
from domain.contracts import (
    Contract,
    QualityTargets,
    UnknownContract,
    contract_of,
    terms_version,
)
from domain.policy import Policy, PolicyError, parse_policy
from domain.report_times import ReportTimeError, parse_report_times
from domain.vocabulary import DEFAULT_CONTRACT, ContractId


class ContractError(ValueError):
    """A contracts file, or a contract's own file, that cannot be used; the message names the
    contract, the key and the rule."""


@dataclass(frozen=True)
class ContractBook:
    """Every contract served, with its directory of parties; `default_id` takes intake that
    names no contract."""

    contracts: Mapping[str, Contract]
    directories: Mapping[str, Directory]
    default_id: str

    @classmethod
    def serving(cls, policy: Policy) -> ContractBook:
        """One contract, "default", of `policy`, with no parties (intake needs none)."""
        contract = Contract(
            id=DEFAULT_CONTRACT, name="Default contract", policy=policy,
            version=terms_version(policy, {}),
        )  # fmt: skip
        return cls({contract.id: contract}, {}, contract.id)

    @property
    def default(self) -> Contract:
        return self.contracts[self.default_id]

    def __iter__(self):
        return iter(self.contracts.values())

    def of(self, contract_id: str | None) -> Contract:
        """The contract a complaint belongs to. A complaint names one this deployment served
        when it was registered; should it be gone from the files since, its pinned policy still
        governs it, and the default contract's settings stand in for display."""
        return self.contracts.get(contract_of(contract_id), self.default)

    def directory_of(self, contract_id: str | None) -> Directory:
        return self.directories.get(contract_of(contract_id), self.directories[self.default_id])

    def for_intake(self, contract_id: str | None) -> Contract:
        """The contract a new complaint comes under; UnknownContract for one not served or
        retired."""
        contract = self.contracts.get(contract_id or self.default_id)
        if contract is None:
            raise UnknownContract(contract_id or self.default_id)
        if contract.retired:
            raise UnknownContract(contract.id, retired=True)
        return contract

    def for_mail(self, recipients: Iterable[str]) -> Contract:
        """The contract inbound mail to `recipients` belongs to: the first whose mail_to holds
        one of them, else the default."""
        wanted = {r.strip().lower() for r in recipients}
        for contract in self.contracts.values():
            if not contract.retired and wanted & {a.lower() for a in contract.mail_to}:
                return contract
        return self.for_intake(None)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")


def _address(text: str) -> str:
    # A rule people can read, not the pattern: a report recipient without an address would
    # only fail on Friday, at the report's first send.
    if not _ADDRESS.fullmatch(text):
        raise PydanticCustomError(
            "email", "{value} is not an e-mail address (name@domain)", {"value": repr(text)}
        )
    return text


Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(_address)]


class _ContractEntry(_Strict):
    id: ContractId
    name: str = Field(min_length=1, max_length=200)
    policy: Path
    parties: Path
    mail_to: list[Email] = []
    report_recipients: list[Email] = []
    targets: QualityTargets = QualityTargets()
    reports: dict[str, str] = {}  # parsed by domain.report_times, which names the broken rule
    retired: bool = False


class _ContractsFile(_Strict):
    default: ContractId | None = None  # None: the first contract listed
    contracts: list[_ContractEntry] = Field(min_length=1)


def _problems(exc: ValidationError) -> str:
    return "\n".join(
        f"  {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
        for err in exc.errors()
    )


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(f"{what}: cannot read {path}: {exc.strerror}") from None


def load_contract(
    contract_id: str,
    name: str,
    policy_path: Path,
    parties_path: Path,
    **terms: object,
) -> tuple[Contract, Directory]:
    """One contract from its policy and parties files; ContractError names the contract."""
    where = f"contract {contract_id!r}"
    try:
        policy = parse_policy(
            _read(policy_path, where),
            source=f"{where}: {policy_path}",
            base_dir=policy_path.parent,  # where its calendar_file is
        )
        parties_text = _read(parties_path, where)
        directory = load_directory(parties_text, policy, source=f"{where}: {parties_path}")
    except (PolicyError, DirectoryError) as exc:
        raise ContractError(str(exc)) from None
    # Who is away is the desk's day-to-day, not the terms: a new absence is no new version.
    parties = {k: v for k, v in tomllib.loads(parties_text).items() if k != "away"}
    version = terms_version(policy, parties)
    contract = Contract(id=contract_id, name=name, policy=policy, version=version, **terms)
    return contract, directory


def single_contract(policy_path: Path, parties_path: Path) -> ContractBook:
    """The deployment of one contract, "default", from a policy and a parties file."""
    contract, directory = load_contract(
        DEFAULT_CONTRACT, "Default contract", policy_path, parties_path
    )
    return ContractBook({contract.id: contract}, {contract.id: directory}, contract.id)


def load_contracts(path: Path) -> ContractBook:
    """Every contract a contracts file names; ContractError names the contract, key and rule."""
    text = _read(path, "COMPLAINTS_CONTRACTS")
    try:
        listed = _ContractsFile.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ContractError(f"{path}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        raise ContractError(f"{path} is not a valid contracts file:\n{_problems(exc)}") from None
    seen: dict[str, int] = {}
    for index, entry in enumerate(listed.contracts):
        if entry.id in seen:
            raise ContractError(
                f"{path}: contracts.{index}.id: {entry.id!r} is the id of contracts."
                f"{seen[entry.id]} too; each contract needs its own id"
            )
        seen[entry.id] = index
    default_id = listed.default or listed.contracts[0].id
    if default_id not in seen:
        raise ContractError(f"{path}: default: no contract has the id {default_id!r}")
    contracts: dict[str, Contract] = {}
    directories: dict[str, Directory] = {}
    for entry in listed.contracts:
        try:
            reports = parse_report_times(entry.reports)
        except ReportTimeError as exc:
            raise ContractError(f"{path}: contract {entry.id!r}: {exc}") from None
        contract, directory = load_contract(
            entry.id,
            entry.name,
            path.parent / entry.policy,
            path.parent / entry.parties,
            targets=entry.targets,
            report_recipients=tuple(entry.report_recipients),
            mail_to=tuple(entry.mail_to),
            retired=entry.retired,
            reports=reports,
        )
        contracts[entry.id], directories[entry.id] = contract, directory
    if contracts[default_id].retired:
        raise ContractError(f"{path}: default: contract {default_id!r} is retired")
    return ContractBook(contracts, directories, default_id)
