"""Logging: structlog key-value events, JSON in production, console in development.

Personal data must never reach a log line; the domain keeps it in one field (`customer`) and
nothing logs that field, and this processor drops any key that names personal data in case a
future log call slips.
"""

import logging

import structlog
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

PERSONAL_KEYS = frozenset({"customer", "name", "email", "phone", "address"})


def _drop_personal(_logger, _method, event_dict):
    for key in PERSONAL_KEYS & event_dict.keys():
        event_dict[key] = "[redacted]"
    return event_dict


def _renderers(log_format: str) -> list:
    """The last processors: plain tracebacks, never with local variables. A traceback's locals
    hold whatever a failing function was holding, the customer's decrypted details included;
    left to itself, the console renderer shows them (rich's or better-exceptions' formatter,
    whichever is installed), and so would a structured JSON traceback."""
    if log_format == "json":
        return [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    return [
        structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    ]


def configure_logging(log_format: str = "console", level: str = "INFO") -> None:
    renderers = _renderers(log_format)
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_personal,
    ]
    structlog.configure(
        processors=[*shared, *renderers],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # No caching: a logger cached on first use would keep the configuration of that moment
        # should logging be configured again in the same process (the CLI in tests does).
        cache_logger_on_first_use=False,
    )
    # Temporal's SDK logs through the standard library; give it the same format.
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderers],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic narrates every start-up at INFO ("Context impl SQLiteImpl"); only its warnings matter.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs every request's full URL at INFO, and a chat tool's webhook URL carries its secret.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    _forward_temporal_core_logs()


_core_runtime: Runtime | None = None


def _forward_temporal_core_logs() -> None:
    """Temporal's Rust core (the client's retries, the worker's polling) writes its own lines to
    stderr, in neither format. Forward them to the standard library, and so through the handler
    above. A runtime starts threads, so there is one per process; clients and workers made after
    this use it."""
    global _core_runtime
    if _core_runtime is None:
        _core_runtime = Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                    forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
                )
            )
        )
        Runtime.set_default(_core_runtime, error_if_already_set=False)
