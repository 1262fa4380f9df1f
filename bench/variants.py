"""Copies of sql/ with one guarantee taken out, to measure what each costs with bench.cpu. Never deployed.

    uv run python -m bench.variants /tmp/costs            # writes /tmp/costs/<variant>/, prints --sql-root args
    uv run python -m bench.cpu --calls 600 --request-ids --sql-root sql $(uv run python -m bench.variants /tmp/costs)

Each edit appends a statement to a policy file or replaces one exact piece of a function file; a piece that is
no longer found (the code moved on) stops the script rather than measuring a copy that still has the guarantee.
``bare`` takes every edit at once: what the commands cost without any of them.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from qms import migrate as migrations

ADVANCE = "functions/qms/advance_ticket.sql"
HASH_CALL = """qms.ticket_event_hash(p_old.last_event_hash, p_new.tenant_id, p_new.ticket_id, v_seq, p_type,
                                          v_payload);"""
EVENT_INSERT = """    insert into qms.ticket_events (tenant_id, ticket_id, ticket_seq, branch_id, service_id, counter_id, type,
                                   payload, actor, request_id, prev_hash, hash)
    values (p_new.tenant_id, p_new.ticket_id, v_seq, p_new.branch_id, p_new.service_id, p_new.counter_id, p_type,
            v_payload, jsonb_build_object('sub', qms.current_sub(), 'role', qms.current_role_name()),
            p_request_id, p_old.last_event_hash, v_hash);
"""
NO_RLS = """do $$
declare r record;
begin
    for r in select c.oid::regclass as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname in ('qms', 'analytics') and c.relkind = 'r' and c.relrowsecurity loop
        execute format('alter table %s no force row level security, disable row level security', r.t);
    end loop;
end $$;
"""

# edit name -> [(file under sql/, exact old text or None to append, new text)]
Edit = tuple[str, str | None, str]
EDITS: dict[str, list[Edit]] = {
    "no_analytics": [("policies/analytics.sql", None, "drop trigger ticket_events_analytics on qms.ticket_events;\n")],
    "no_notify": [
        ("policies/notification_deliveries.sql", None, "drop trigger ticket_events_notify on qms.ticket_events;\n")
    ],
    "no_xid": [
        ("policies/api_event_grants.sql", None, "drop trigger ticket_events_assign_xid on qms.ticket_events;\n")
    ],
    "no_event_fk": [
        (
            "policies/ticket_events.sql",
            None,
            "alter table qms.ticket_events drop constraint ticket_events_tenant_id_ticket_id_fkey;\n",
        )
    ],
    "no_hash": [(ADVANCE, HASH_CALL, "'\\x00'::bytea;")],
    "no_changes": [
        (
            ADVANCE,
            "jsonb_build_object('changes', qms.ticket_changes(p_old, p_new)) || coalesce(p_extra, '{}');",
            "coalesce(p_extra, '{}');",
        )
    ],
    "no_event": [(ADVANCE, EVENT_INSERT, "")],
    "no_rls": [("policies/worker_grants.sql", None, NO_RLS)],
    "no_idempotency": [
        ("functions/qms/idempotency.sql", "    if p_request_id is null then\n", "    if true then\n"),
        ("functions/qms/idempotency.sql", "    if p_request_id is not null then\n", "    if false then\n"),
    ],
    "no_position": [
        ("functions/api/create_ticket.sql", "v_estimate := qms.queue_estimate(v_new);", "v_estimate := '{}';")
    ],
    "no_streak": [("functions/api/call_next.sql", "    perform qms.record_priority_call(v_ticket);\n", "")],
}
VARIANTS: dict[str, list[str]] = {name: [name] for name in EDITS}
# The analytics trigger folds payload->'changes' into its facts: without them it cannot run.
VARIANTS["no_changes"] = ["no_analytics", "no_changes"]
VARIANTS["no_event_triggers"] = ["no_analytics", "no_notify", "no_xid"]
# What moving the analytics fold and the deliveries to the relay, and the position off the issue, would leave.
VARIANTS["relay_side"] = ["no_analytics", "no_notify", "no_position"]
VARIANTS["bare"] = list(EDITS)


def write_variant(root: Path, sql: Path, edits: list[str]) -> Path:
    """A copy of ``sql`` at ``root`` with the named edits applied."""
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(sql, root)
    for name in edits:
        for rel, old, new in EDITS[name]:
            path = root / rel
            text = path.read_text()
            if old is None:
                text += "\n" + new
            elif text.count(old) != 1:
                raise SystemExit(f"{name}: the piece to replace is not found once in {rel}; update bench/variants.py")
            else:
                text = text.replace(old, new)
            path.write_text(text)
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base", type=Path, help="directory to write the variants into")
    ap.add_argument("--only", nargs="*", choices=sorted(VARIANTS), help="variants to write (default all)")
    args = ap.parse_args()
    names = args.only or list(VARIANTS)
    roots = [write_variant(args.base / name, migrations.SQL_DIR, VARIANTS[name]) for name in names]
    print(" ".join(f"--sql-root {root}" for root in roots))


if __name__ == "__main__":
    main()
