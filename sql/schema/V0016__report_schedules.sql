-- Scheduled reports (US-ANALYT-006, docs/runbooks/analytics.md): an admin schedules a daily or weekly KPI
-- report of a branch (optionally some services) to a list of staff e-mail addresses, at a local time.
--
-- qms.report_schedules: cron (5 fields, computed from kind/local time/weekday by api.create_report_schedule)
--   and time zone (default the branch's). next_run_at is kept by the report worker (croniter); null = not
--   yet planned. Claimed `for update skip locked`.
-- qms.report_runs: one row per (schedule, period): the unique key makes each period's report exist once, across
--   worker restarts and several workers; a run is sent under a lease (status pending -> sending -> sent, or
--   failed after max attempts).
create table qms.report_schedules (
    tenant_id    uuid not null,
    schedule_id  uuid not null default gen_random_uuid(),
    branch_id    uuid not null,
    service_ids  uuid[],
    name         text not null check (length(btrim(name)) between 1 and 200),
    kind         text not null check (kind in ('daily', 'weekly')),
    cron         text not null,
    timezone     text not null,
    recipients   text[] not null check (cardinality(recipients) between 1 and 50),
    is_active    boolean not null default true,
    next_run_at  timestamptz,
    created_at   timestamptz not null default now(),
    primary key (tenant_id, schedule_id),
    foreign key (tenant_id, branch_id) references qms.branches (tenant_id, branch_id)
);
create index report_schedules_due_idx on qms.report_schedules (next_run_at nulls first) where is_active;

create table qms.report_runs (
    tenant_id     uuid not null,
    run_id        uuid not null default gen_random_uuid(),
    schedule_id   uuid not null,
    period_start  date not null,
    period_end    date not null,
    status        text not null default 'pending' check (status in ('pending', 'sending', 'sent', 'failed')),
    attempts      integer not null default 0,
    lease_until   timestamptz,
    next_attempt_at timestamptz not null default now(),
    last_error    text,
    created_at    timestamptz not null default now(),
    sent_at       timestamptz,
    primary key (tenant_id, run_id),
    unique (tenant_id, schedule_id, period_start),
    foreign key (tenant_id, schedule_id) references qms.report_schedules (tenant_id, schedule_id) on delete cascade
);
create index report_runs_due_idx on qms.report_runs (next_attempt_at) where status in ('pending', 'sending');

alter table qms.report_schedules enable row level security;
alter table qms.report_schedules force row level security;
alter table qms.report_runs enable row level security;
alter table qms.report_runs force row level security;
