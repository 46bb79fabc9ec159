"""A report asked for by hand: its period's due time (the inverse of the schedule's period),
and the bad input the issue names, refused with the option or key and the rule: an unknown
contract or kind, a period that does not parse, does not exist or is not over (exit 2 from the
CLI, before anything is started), a recipient that is not an address (start-up error)."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.report_times import ReportPeriodError, ReportTimes, due_of, last_due, period_of
from engine.contracts import ContractError, load_contracts
from entrypoints.cli import main

SHANGHAI = ZoneInfo("Asia/Shanghai")
TIMES = ReportTimes()  # Friday 16:30, the 1st at 09:00
EXAMPLE = Path(__file__).resolve().parents[2] / "contracts" / "example" / "contracts.toml"


@pytest.mark.parametrize(
    ("kind", "label", "due"),
    [
        ("weekly", "2026-W48", datetime(2026, 11, 27, 16, 30, tzinfo=SHANGHAI)),
        ("weekly", "2026-W53", datetime(2027, 1, 1, 16, 30, tzinfo=SHANGHAI)),  # 2026 has 53
        ("monthly", "2026-11", datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)),
        ("monthly", "2026-12", datetime(2027, 1, 1, 9, 0, tzinfo=SHANGHAI)),
    ],
)
def test_a_period_falls_due_when_its_schedule_sends_it(kind, label, due):
    assert due_of(kind, label, TIMES.of(kind), SHANGHAI) == due
    assert period_of(kind, due, SHANGHAI).label == label


@pytest.mark.parametrize(
    ("kind", "label", "message"),
    [
        ("weekly", "2026-48", "'2026-48' is not an ISO week like 2026-W48"),
        ("weekly", "2027-W53", "'2027-W53': 2027 has no week 53"),
        ("monthly", "2026-13", "'2026-13' is not a month like 2026-11"),
        ("monthly", "2026-W48", "'2026-W48' is not a month"),
    ],
)
def test_a_period_that_is_not_one_is_refused(kind, label, message):
    with pytest.raises(ReportPeriodError, match=message):
        due_of(kind, label, TIMES.of(kind), SHANGHAI)


def test_the_latest_period_due_is_the_default():
    friday = datetime(2026, 11, 27, 16, 30, tzinfo=SHANGHAI)
    assert last_due("weekly", TIMES.weekly, friday, SHANGHAI) == friday
    a_minute_before = datetime(2026, 11, 27, 16, 29, tzinfo=SHANGHAI)
    assert last_due("weekly", TIMES.weekly, a_minute_before, SHANGHAI) == datetime(
        2026, 11, 20, 16, 30, tzinfo=SHANGHAI
    )
    new_year = datetime(2027, 1, 1, 8, 0, tzinfo=SHANGHAI)
    assert last_due("monthly", TIMES.monthly, new_year, SHANGHAI) == datetime(
        2026, 12, 1, 9, 0, tzinfo=SHANGHAI
    )


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    """`complaints reports send|resend ...` on the example contracts: (code, stdout, stderr)."""
    monkeypatch.setenv("COMPLAINTS_CONTRACTS", str(EXAMPLE))
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path))
    # Nothing listens here: a refusal must come before any attempt to reach Temporal.
    monkeypatch.setenv("COMPLAINTS_TEMPORAL_ADDRESS", "127.0.0.1:9")

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(["reports", *args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--contract", "nope", "--kind", "weekly"], "--contract: 'nope' is not a contract"),
        (["--contract", "acme", "--kind", "daily"], "argument --kind: invalid choice: 'daily'"),
        (["--contract", "acme", "--kind", "weekly", "--period", "2026-11"], "--period: '2026-11'"),
        (["--contract", "acme", "--kind", "monthly", "--period", "2026-W48"], "is not a month"),
        (["--contract", "acme", "--kind", "weekly", "--period", "2027-W53"], "has no week 53"),
        (["--contract", "acme", "--kind", "weekly", "--period", "2099-W01"], "is not over yet"),
        (["--contract", "acme"], "the following arguments are required: --kind"),
    ],
)
def test_reports_send_refuses_bad_input_with_exit_2(cli, args, message):
    code, out, err = cli("send", *args)
    assert code == 2 and message in err and out == ""


def test_reports_resend_refuses_an_unknown_id_with_exit_2(cli):
    code, _, err = cli("resend", "7")
    assert code == 2 and "ID: no sent report has the id 7" in err


def test_a_recipient_without_an_address_stops_start_up_naming_the_key(tmp_path):
    shutil.copytree(EXAMPLE.parent, tmp_path / "example")
    path = tmp_path / "example" / "contracts.toml"
    path.write_text(path.read_text().replace('["ops-acme@provider.example"]', '["ops-acme", ""]'))
    with pytest.raises(ContractError) as refused:
        load_contracts(path)
    assert "contracts.0.report_recipients.0: 'ops-acme' is not an e-mail" in str(refused.value)
    assert "report_recipients.1: '' is not an e-mail address (name@domain)" in str(refused.value)
