"""Personal data never reaches a log line, even when a call passes it by mistake."""

import json
import logging

import pytest
import structlog
from temporalio.runtime import Runtime

from engine import logs
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


def test_webhook_urls_and_temporal_core_lines_go_through_the_same_handler():
    configure_logging("json", "INFO")
    try:
        # httpx would log "POST https://chat.example/hooks/<secret>" at INFO.
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
        # Clients and workers made from now on forward the core's lines to "temporalio.core".
        assert Runtime.default() is logs._core_runtime
    finally:
        structlog.reset_defaults()


PHONE = "+86 139 5555 0123"  # fictional


def _fail_holding_a_phone(logger_kind: str) -> None:
    phone = PHONE  # a local variable, as the dispatcher holds the customer's decrypted details
    try:
        raise ValueError("header value contains a line break")
    except ValueError:
        if logger_kind == "structlog":
            structlog.get_logger("t").exception("delivery failed", complaint_id="C-1")
        else:  # Temporal's SDK and the libraries log through the standard library
            logging.getLogger("t").exception("delivery failed")
    assert phone


@pytest.mark.parametrize("logger_kind", ["structlog", "stdlib"])
@pytest.mark.parametrize("log_format", ["json", "console"])
def test_tracebacks_never_show_local_variables(capsys, log_format, logger_kind):
    configure_logging(log_format, "INFO")
    try:
        _fail_holding_a_phone(logger_kind)
    finally:
        structlog.reset_defaults()
    captured = capsys.readouterr()
    written = captured.out + captured.err
    # The traceback is there, plain: where it failed and why.
    assert "_fail_holding_a_phone" in written and "contains a line break" in written
    assert PHONE not in written and "139 5555" not in written
