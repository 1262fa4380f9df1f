"""How Datasette is started for the analytics dashboards, in one place for ``qms up`` and the gateway.

Datasette listens on a Unix socket (``QMS_DATASETTE_SOCKET``, default ``<QMS_DATA_DIR>/run/datasette.sock``)
with ``base_url`` ``/analytics/``; the gateway forwards ``/analytics/*`` to it, so the dashboards share the
gateway's origin (and its TLS, rate limits and access log) and Datasette is never exposed on a port."""

from __future__ import annotations

import os
import sys
from pathlib import Path

BASE_URL = "/analytics/"
METADATA = Path(__file__).resolve().parent / "metadata.yml"


def datasette_socket(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    raw = env.get("QMS_DATASETTE_SOCKET", "").strip()
    return Path(raw) if raw else Path(env.get("QMS_DATA_DIR", ".qms")) / "run" / "datasette.sock"


def datasette_argv(*, socket: Path | None = None, port: int | None = None) -> list[str]:
    """``datasette serve`` with the project's metadata, on a Unix socket or (tests, debugging) a local port."""
    argv = [sys.executable, "-m", "datasette", "serve", "--metadata", str(METADATA)]
    argv += ["--setting", "base_url", BASE_URL, "--setting", "sql_time_limit_ms", "5000"]
    if socket is not None:
        argv += ["--uds", str(socket)]
    else:
        argv += ["--host", "127.0.0.1", "--port", str(port or 8001)]
    return argv
