"""Logging: structlog key-value events, JSON in production, console in development.

Personal data must never reach a log line; the domain keeps it in one field (`customer`) and
nothing logs that field, and this processor drops any key that names personal data in case a
future log call slips.
"""

import logging

import structlog

PERSONAL_KEYS = frozenset({"customer", "name", "email", "phone", "address"})


def _drop_personal(_logger, _method, event_dict):
    for key in PERSONAL_KEYS & event_dict.keys():
        event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(log_format: str = "console", level: str = "INFO") -> None:
    renderer = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_personal,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    # Temporal's SDK logs through the standard library; give it the same format.
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic narrates every start-up at INFO ("Context impl SQLiteImpl"); only its warnings matter.
    logging.getLogger("alembic").setLevel(logging.WARNING)
