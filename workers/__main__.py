"""``python -m workers --database-url URL``: the periodic jobs (no-show sweeper, queue position fold, retention,
analytics fold, per-tenant snapshots, scheduled reports, anomaly rules)."""

from __future__ import annotations

import argparse
import logging
import os
import threading
from pathlib import Path

from workers import analytics_snapshot, anomalies, queue_counts, reports, retention, runner, sweeper


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("QMS_DATABASE_URL"))
    parser.add_argument("--sweep-interval", type=float, default=1.0)
    parser.add_argument("--snapshot-interval", type=float, default=3.0)
    parser.add_argument("--snapshot-dir", type=Path, default=analytics_snapshot.snapshot_dir())
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or QMS_DATABASE_URL is required")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stop = threading.Event()
    runner.install_signal_handlers(stop)
    jobs = [
        sweeper.job(args.sweep_interval),
        queue_counts.job(),
        retention.job(),
        retention.notifications_job(),
        analytics_snapshot.fold_job(),
        analytics_snapshot.snapshot_job(args.snapshot_dir, args.snapshot_interval),
        reports.plan_job(),
        reports.send_job(),
        anomalies.job(),
    ]
    runner.log_event("worker.started", jobs=[j.name for j in jobs])
    runner.run(args.database_url, jobs, stop)
    runner.log_event("worker.stopped")


if __name__ == "__main__":
    main()
