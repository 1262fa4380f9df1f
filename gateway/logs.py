"""JSON log lines on stderr (one object per line): time, level, logger, message and any ``extra`` fields."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
# One encoder for every line (json.dumps with ``default`` would build one per call); same output as
# json.dumps(out, default=str).
_ENCODER = json.JSONEncoder(default=str)


class JsonFormatter(logging.Formatter):
    """One line per record. It formats every access-log line, so it keeps its per-call work small: the
    seconds part of the timestamp is formatted once per second."""

    _second = -1
    _second_text = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        out: dict[str, Any] = {
            "ts": f"{self._second_text}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        standard = _STANDARD
        for key, value in record.__dict__.items():
            if key not in standard and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return _ENCODER.encode(out)


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
