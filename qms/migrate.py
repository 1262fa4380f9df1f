"""Schema migrations (pgmigrate) followed by re-applying functions and policies.

pgmigrate applies the forward-only files of ``sql/schema`` (it runs callbacks only when a migration is
pending, so it cannot re-apply code on its own). Afterwards every file of ``sql/functions`` and then
``sql/policies`` is executed again in one transaction, in path order: ``create or replace`` makes that a no-op
when nothing changed. A failure rolls the whole step back and names the file, line and statement.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "sql"
SCHEMA_DIR = SQL_DIR / "schema"
CODE_DIRS = (SQL_DIR / "functions", SQL_DIR / "policies")


class MigrationError(RuntimeError):
    """A migration or a re-applied file failed; nothing of that step was committed."""


@dataclass(frozen=True)
class FileFailure:
    path: Path
    line: int
    message: str
    statement: str

    def __str__(self) -> str:
        rel = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{rel}:{self.line}: {self.message}\n    statement: {self.statement}"


def code_files(code_dirs: Sequence[Path] = CODE_DIRS) -> list[Path]:
    """Function files first (sorted by path), then policy files."""
    files: list[Path] = []
    for base in code_dirs:
        files.extend(sorted(base.rglob("*.sql")))
    return files


def _pgmigrate(url: str, command: str, schema_dir: Path = SCHEMA_DIR) -> subprocess.CompletedProcess[str]:
    """Run pgmigrate with a base directory whose ``migrations`` is ``schema_dir`` (``sql/schema``)."""
    exe = Path(sys.executable).with_name("pgmigrate")
    with tempfile.TemporaryDirectory(prefix="qms-migrate-") as base:
        (Path(base) / "migrations").symlink_to(Path(schema_dir).absolute())
        (Path(base) / "migrations.yml").write_text("conn: ''\n")
        args = [str(exe), "-d", base, "-c", url, "-t", "latest", command]
        if command == "info":
            args = [str(exe), "-d", base, "-c", url, "info"]
        return subprocess.run(args, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def _statement_at(sql: str, position: int) -> tuple[int, str]:
    """Line number and the statement around a 1-based character position of ``sql``."""
    position = max(position - 1, 0)
    line = sql.count("\n", 0, position) + 1
    start = sql.rfind(";", 0, position) + 1
    end = sql.find(";", position)
    text = " ".join(sql[start : end if end >= 0 else len(sql)].split())
    return line, text[:300]


def apply_code(url: str, code_dirs: Sequence[Path] = CODE_DIRS) -> int:
    """Re-apply every function and policy file in one transaction; returns the number of files."""
    files = code_files(code_dirs)
    with psycopg.connect(url, autocommit=False) as conn:
        # Bodies are checked when called, not when created, so files may refer to each other in any order.
        conn.execute("set local check_function_bodies = off")
        for path in files:
            sql = path.read_text()
            try:
                conn.execute(sql.encode())
            except psycopg.Error as exc:
                conn.rollback()
                pos = int(exc.diag.statement_position or 0)
                line, statement = _statement_at(sql, pos) if pos else (0, sql.strip().splitlines()[0][:300])
                raise MigrationError(
                    str(FileFailure(path, line, exc.diag.message_primary or str(exc), statement))
                ) from exc
        conn.commit()
    return len(files)


@dataclass(frozen=True)
class MigrateResult:
    schema: list[dict[str, object]]
    code_files: int

    @property
    def applied(self) -> int:
        return sum(1 for m in self.schema if m["installed_on"])


_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ (?P<level>[A-Z]+)\s*:\s?(?P<text>.*)$")


def _pgmigrate_error(stderr: str, schema_dir: Path) -> str:
    """The file, statement and server message of a failed migration, without pgmigrate's traceback."""
    kept: list[str] = []
    for line in stderr.splitlines():
        m = _LOG_LINE.match(line)
        if m:
            if m.group("level") != "ERROR":
                continue
            text = m.group("text")
            if text.startswith("Error executing statement from "):
                name = Path(text.removeprefix("Error executing statement from ").rstrip(":")).name
                text = f"in {Path(schema_dir).absolute() / name}:"
            elif text.startswith(("b'", 'b"')):
                text = "statement: " + text[2:-1].encode().decode("unicode_escape")
            kept.append(text)
        elif line.startswith("Traceback"):
            break
        elif kept:
            kept.append(line)  # continuation of the server's message (LINE 1: …, the caret)
    return "\n".join(kept)[-3000:] or stderr.strip()[-3000:]


def migrate(url: str, schema_dir: Path = SCHEMA_DIR, code_dirs: Sequence[Path] = CODE_DIRS) -> MigrateResult:
    """Apply pending schema migrations, then re-apply functions and policies."""
    proc = _pgmigrate(url, "migrate", schema_dir)
    if proc.returncode != 0:
        detail = _pgmigrate_error(proc.stderr, schema_dir)
        raise MigrationError(f"schema migration failed, nothing applied:\n{detail}")
    count = apply_code(url, code_dirs)
    return MigrateResult(schema=status(url, schema_dir), code_files=count)


def status(url: str, schema_dir: Path = SCHEMA_DIR) -> list[dict[str, object]]:
    """Each schema migration with its version, description and when it was installed (None: pending)."""
    proc = _pgmigrate(url, "info", schema_dir)
    if proc.returncode != 0:
        raise MigrationError(proc.stderr.strip()[-2000:])
    info: dict[str, dict[str, object]] = json.loads(proc.stdout or "{}")
    return [
        {"version": int(v), "description": m.get("description"), "installed_on": m.get("installed_on")}
        for v, m in sorted(info.items(), key=lambda kv: int(kv[0]))
    ]
