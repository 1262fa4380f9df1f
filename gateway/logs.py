"""JSON log lines on stderr (one object per line): time, level, logger, message and any ``extra`` fields."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class _DropAbortedPipeline(logging.Filter):
    """psycopg warns "error ignored terminating <pipeline>: pipeline aborted" when a request's pipeline ends
    with the error the gateway already answers (e.g. PT401 TOKEN_REVOKED): expected, not worth a line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            str(record.msg).startswith("error ignored terminating") and "pipeline aborted" in record.getMessage()
        )


def setup() -> None:
    psycopg_log = logging.getLogger("psycopg")
    if not any(isinstance(f, _DropAbortedPipeline) for f in psycopg_log.filters):
        psycopg_log.addFilter(_DropAbortedPipeline())
    root = logging.getLogger("gateway")
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
