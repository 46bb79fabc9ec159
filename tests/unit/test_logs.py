"""Personal data never reaches a log line, even when a call passes it by mistake."""

import json
import logging

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
