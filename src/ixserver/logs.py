"""Logging set-up. API keys travel in the query string, so they are redacted from every log
line (uvicorn's access log included)."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

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


def uvicorn_log_config(level: str) -> dict[str, Any]:
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_api_keys": {"()": "ixserver.logs.RedactApiKeys"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact_api_keys"]
    config["loggers"]["ixserver"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config
