"""Logging set-up. API keys travel in the query string, so they are redacted from every log
line (uvicorn's access log included).

Structured events (the request log of web/requestlog.py) are written with structlog, rendered
as one logfmt line (`key=value …`, values quoted when they hold spaces or `=`) and handed to the
stdlib logger of their name (`ixserver.access`). So they go out through the handler of uvicorn's
log config (stderr, `INFO:     event=request …`): the `ixserver` logger's level applies, and the
api_key filter too. logfmt by default: it reads as easily as uvicorn's own lines and every
log shipper parses it. With IXSERVER_LOG_FORMAT=json, every record — the request log's events and
the stdlib records of uvicorn and ixserver alike — is one JSON object per line (structlog's
ProcessorFormatter on every handler), with `timestamp`, `level` and `logger`.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

import structlog
from uvicorn.config import LOGGING_CONFIG

_API_KEY = re.compile(r"(api_key=)[^&\s\"']*")


def redact(text: str) -> str:
    return _API_KEY.sub(r"\1[REDACTED]", text)


class RedactApiKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def _stamped() -> list[Any]:
    return [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso"),
    ]


def uvicorn_log_config(level: str, log_format: str = "logfmt") -> dict[str, Any]:
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_api_keys": {"()": "ixserver.logs.RedactApiKeys"}}
    if log_format == "json":
        config["formatters"] = {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processor": structlog.processors.JSONRenderer(),
                "foreign_pre_chain": _stamped(),
            }
        }
    for handler in config["handlers"].values():
        handler["filters"] = ["redact_api_keys"]
        if log_format == "json":
            handler["formatter"] = "json"
    config["loggers"]["ixserver"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


_structlog_configured = False


def configure_structlog(log_format: str = "logfmt") -> None:
    """structlog -> stdlib logging: one logfmt line per event, or (json) the event handed to the
    handler's ProcessorFormatter. Idempotent: every app of the process calls it (configuration
    is process-wide)."""
    global _structlog_configured
    if _structlog_configured:
        return
    rendering = (
        [*_stamped(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter]
        if log_format == "json"
        else [structlog.processors.LogfmtRenderer(key_order=["event"], bool_as_flag=False)]
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *rendering,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    _structlog_configured = True
