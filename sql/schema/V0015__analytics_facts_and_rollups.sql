-- Analytics (docs/adr/0014-analytics-rollups.md): per-ticket facts and hourly rollups in branch time,
-- maintained from the event log by an AFTER INSERT trigger on qms.ticket_events (created in
-- sql/policies/analytics.sql, its function in sql/functions/qms/analytics_facts.sql). PII-free by
-- construction: no contact data, no names, only ids, classes, channels and timestamps.
--
-- analytics.ticket_facts: one row per ticket, the timestamps the metrics need. first_called_at is the first
--   call (a transfer or a return to the queue clears the ticket's called_at, not this); served_at and
--   completed_at are the ticket's latest; counter_id the last counter that had it; bucket_hour the hour of
--   issue in the branch's time zone (fixed at issue).
-- analytics.hourly_rollups: sums per (tenant, branch, hour, service, priority class, channel, counter).
-- analytics.hourly_rollup_deltas: what the trigger appends (a ticket's old contribution negated, its new one
--   added). Insert-only, so concurrent engine commands never wait on a shared rollup row; the worker folds
--   deltas into hourly_rollups (worker.analytics_fold) and readers sum both (analytics.hourly_kpis).

create table analytics.ticket_facts (
    tenant_id        uuid not null,
    ticket_id        uuid not null,
    branch_id        uuid not null,
    service_id       uuid not null,
    counter_id       uuid,
    ticket_number    text not null,
    priority_class   text not null,
    channel          text not null,
    timezone         text not null,
    bucket_hour      timestamp not null,
    status           text not null,
    transferred      boolean not null default false,
    created_at       timestamptz not null,
    first_called_at  timestamptz,
    served_at        timestamptz,
    completed_at     timestamptz,
    ended_at         timestamptz,
    sla_seconds      integer,
    last_seq         bigint not null,
    primary key (tenant_id, ticket_id)
) with (fillfactor = 80);
-- Range reads of a branch (api.kpi percentiles, the drill-down, snapshots).
create index ticket_facts_branch_hour_idx on analytics.ticket_facts (tenant_id, branch_id, bucket_hour);
-- Incremental snapshot reads: what changed after a seq.
create index ticket_facts_seq_idx on analytics.ticket_facts (tenant_id, last_seq);

create table analytics.hourly_rollups (
    tenant_id            uuid not null,
    branch_id            uuid not null,
    bucket_hour          timestamp not null,
    service_id           uuid not null,
    priority_class       text not null,
    channel              text not null,
    counter_id           uuid,
    tickets              integer not null default 0,
    served               integer not null default 0,
    no_shows             integer not null default 0,
    cancelled            integer not null default 0,
    transferred          integer not null default 0,
    waited               integer not null default 0,
    wait_seconds_sum     numeric not null default 0,
    sla_met              integer not null default 0,
    service_timed        integer not null default 0,
    service_seconds_sum  numeric not null default 0,
    updated_at           timestamptz not null default now(),
    constraint hourly_rollups_key unique nulls not distinct
        (tenant_id, branch_id, bucket_hour, service_id, priority_class, channel, counter_id)
);

create table analytics.hourly_rollup_deltas (
    tenant_id            uuid not null,
    delta_id             bigint generated always as identity,
    branch_id            uuid not null,
    bucket_hour          timestamp not null,
    service_id           uuid not null,
    priority_class       text not null,
    channel              text not null,
    counter_id           uuid,
    tickets              integer not null default 0,
    served               integer not null default 0,
    no_shows             integer not null default 0,
    cancelled            integer not null default 0,
    transferred          integer not null default 0,
    waited               integer not null default 0,
    wait_seconds_sum     numeric not null default 0,
    sla_met              integer not null default 0,
    service_timed        integer not null default 0,
    service_seconds_sum  numeric not null default 0,
    primary key (tenant_id, delta_id)
);
create index hourly_rollup_deltas_id_idx on analytics.hourly_rollup_deltas (delta_id);

alter table analytics.ticket_facts enable row level security;
alter table analytics.ticket_facts force row level security;
alter table analytics.hourly_rollups enable row level security;
alter table analytics.hourly_rollups force row level security;
alter table analytics.hourly_rollup_deltas enable row level security;
alter table analytics.hourly_rollup_deltas force row level security;
