"""Personal data never reaches a log line, even when a call passes it by mistake."""

import json

import structlog

from engine.logs import configure_logging


def test_personal_keys_are_redacted_in_json_logs(capsys):
    configure_logging("json", "INFO")
    try:
        structlog.get_logger("t").info(
            "complaint registered", complaint_id="C-1", name="Li Lei", phone="+86 138", tier=3
        )
    finally:
        structlog.reset_defaults()
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["complaint_id"] == "C-1" and line["tier"] == 3
    assert line["name"] == line["phone"] == "[redacted]"
