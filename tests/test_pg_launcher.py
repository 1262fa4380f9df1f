"""The embedded PostgreSQL launcher: create, start, status, stop; as root, the server runs unprivileged."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from qms.pg import SERVICE_USER, Cluster, find_bin_dir, free_port


@pytest.fixture
def cluster_dir() -> Iterator[Path]:
    # mkdtemp is mode 0700 and owned by the caller: unreachable for the service user when we are root.
    path = Path(tempfile.mkdtemp(prefix="qms-launcher-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_start_status_stop_roundtrip(cluster_dir: Path) -> None:
    cluster = Cluster(cluster_dir / "data", bin_dir=find_bin_dir())
    cluster.init(port=free_port(56000))
    try:
        assert cluster.status()["running"] is False
        cluster.start()
        status = cluster.status()
        assert status["running"] is True
        assert status["port"] == cluster.port
        with psycopg.connect(cluster.url("postgres")) as conn:
            row = conn.execute("select current_setting('listen_addresses'), current_user").fetchone()
        assert row == ("127.0.0.1", "postgres")
        cluster.start()  # starting a running cluster is a no-op
        cluster.stop()
        assert cluster.status()["running"] is False
        # A second start reuses the cluster and its port.
        cluster.start()
        assert Cluster(cluster_dir / "data").port == cluster.port
    finally:
        cluster.destroy()
    assert not cluster.server_dir.exists() or not any(cluster.server_dir.iterdir())


@pytest.mark.skipif(os.geteuid() != 0, reason="root handling applies only when run as root")
def test_as_root_the_server_runs_as_the_service_user(cluster_dir: Path) -> None:
    cluster = Cluster(cluster_dir / "data", bin_dir=find_bin_dir())
    cluster.init(port=free_port(56100))
    try:
        cluster.start()
        pid = int((cluster.server_dir / "postmaster.pid").read_text().splitlines()[0])
        owner = pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
        assert owner == SERVICE_USER
        # The data directory's ancestors are not reachable by the service user (mode 0700, root), so the
        # cluster was relocated and pg is a symlink to it; nothing outside the data dir changed mode.
        assert (cluster_dir / "data" / "pg").is_symlink()
        assert cluster.server_dir.is_relative_to("/var/lib/qms/clusters")
        assert oct(os.stat(cluster_dir).st_mode & 0o777) == "0o700"
    finally:
        cluster.destroy()


def test_status_of_an_uninitialised_directory(cluster_dir: Path) -> None:
    cluster = Cluster(cluster_dir / "empty", bin_dir=find_bin_dir())
    status = cluster.status()
    assert status["initialised"] is False
    assert status["running"] is False
    assert status["url"] is None


def test_wheel_server_is_found() -> None:
    bin_dir = find_bin_dir(prefer="wheel18")
    assert (bin_dir / "postgres").exists()
    assert "pginstall" in str(bin_dir)
