"""What the position and ETA cost as the queue grows: database CPU per read at 10 / 1,000 / 10,000 waiting.

    uv run python -m bench.position                      # depths 10, 1000, 10000
    uv run python -m bench.position --depths 10,1000

For each depth one fresh service of one throwaway cluster is filled to that many waiting tickets through
``api.create_ticket`` (vacuumed between batches, as a live table is by autovacuum, and with the queue ledger
folded after each batch, as the worker's ``queue_fold`` job does every second). Then, each call its own
transaction as the gateway runs it, and metered like bench.cpu (the server process's CPU per call):
``api.get_ticket`` and ``api.get_public_ticket`` of the last ticket (position = depth, the longest count) and
``api.create_ticket`` of one more ticket at the tail. ``bench.run`` calls :func:`measure` and reports the
figures next to the throughput table; the target is the same cost (within a factor of 2) at every depth.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import psycopg

from bench.cpu import Meter
from qms import migrate as migrations
from qms.pg import Cluster, find_bin_dir, free_port
from qms.testing import TEST_HELPERS
from tests.engine_fixtures import seed_branch

DEPTHS = (10, 1_000, 10_000)
READS = 300
CREATES = 100


def fold_queue(conn: psycopg.Connection[Any]) -> None:
    """One run of the worker's ``queue_fold`` job on an autocommit owner connection, as the worker role."""
    with conn.transaction():
        conn.execute(
            "select set_config('role', 'qms_worker', true), set_config('request.jwt.claims', %s, true)",
            (json.dumps({"role": "qms_worker", "sub": "bench-fold"}),),
        )
        conn.execute("select worker.queue_fold(max_rows => 100000)")


def fill(url: str, claims: dict[str, Any], service_id: str, n: int) -> None:
    """``n`` waiting tickets through api.create_ticket, 250 per transaction; after each batch the queue ledger
    is folded (worker.queue_fold, as the worker) and the tickets table vacuumed."""
    with psycopg.connect(url, autocommit=True) as conn, psycopg.connect(url, autocommit=True) as owner:
        made = 0
        while made < n:
            k = min(250, n - made)
            with conn.transaction():
                conn.execute(
                    "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true)",
                    (claims["role"], json.dumps(claims)),
                )
                conn.execute(
                    "select count(api.create_ticket(service_id => %s, channel => 'api')) from generate_series(1, %s)",
                    (service_id, k),
                )
            made += k
            fold_queue(owner)
            owner.execute("vacuum (analyze) qms.tickets")


def measure(url: str, depths: tuple[int, ...] = DEPTHS) -> dict[int, dict[str, float]]:
    """CPU µs per call of get_ticket / get_public_ticket (the tail ticket) and create_ticket, per depth."""
    out: dict[int, dict[str, float]] = {}
    for depth in depths:
        seed = seed_branch(url, n_services=1, n_counters=1)
        claims = seed.claims()
        service = str(seed.service_ids[0])
        fill(url, claims, service, depth - 1)
        with psycopg.connect(url, autocommit=True) as conn:
            meter = Meter(conn, claims)
            tail = meter.call("create", "select api.create_ticket(service_id => %s, channel => 'api')", (service,))
            assert tail["position"] == depth, (tail["position"], depth)
            ticket_id, secret = tail["ticket_id"], tail["status_url"].rsplit(".", 1)[1]
            reads = Meter(conn, claims)
            for _ in range(READS):
                got = reads.call("get_ticket", "select api.get_ticket(ticket_id => %s)", (ticket_id,))
                assert got["position"] == depth
            anon = Meter(conn, {"role": "qms_anon"})
            for _ in range(READS):
                pub = anon.call(
                    "get_public_ticket",
                    "select api.get_public_ticket(ticket_id => %s, secret => %s)",
                    (ticket_id, secret),
                )
                assert pub["position"] == depth
            for _ in range(CREATES):
                reads.call("create_ticket", "select api.create_ticket(service_id => %s, channel => 'api')", (service,))
        res = reads.results() | anon.results()
        out[depth] = {name: r["cpu_us"] for name, r in res.items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--depths", default=",".join(map(str, DEPTHS)), help="comma-separated queue depths")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="qms-bench-position-"))
    cluster = Cluster(base, bin_dir=find_bin_dir())
    cluster.init(port=free_port(57600))
    cluster.start()
    try:
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
            admin.execute("create database bench")
        url = cluster.url("bench")
        migrations.migrate(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("create schema tests")
            conn.execute(TEST_HELPERS.read_text().encode())
        results = measure(url, tuple(int(d) for d in args.depths.split(",")))
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)
    for depth, r in results.items():
        print(f"{depth:>6} waiting: " + ", ".join(f"{k} {v:,.0f} µs" for k, v in r.items()))


if __name__ == "__main__":
    main()
