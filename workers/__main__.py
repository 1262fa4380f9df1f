"""``python -m workers --database-url URL``: the periodic jobs (no-show sweeper, retention)."""

from __future__ import annotations

import argparse
import logging
import os
import threading

from workers import retention, runner, sweeper


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("QMS_DATABASE_URL"))
    parser.add_argument("--sweep-interval", type=float, default=1.0)
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or QMS_DATABASE_URL is required")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stop = threading.Event()
    runner.install_signal_handlers(stop)
    runner.log_event("worker.started", jobs=["sweep_no_shows", "purge_idempotency_keys", "purge_notification_data"])
    jobs = [sweeper.job(args.sweep_interval), retention.job(), retention.notifications_job()]
    runner.run(args.database_url, jobs, stop)
    runner.log_event("worker.stopped")


if __name__ == "__main__":
    main()
