-- BI connector tokens and anomaly rules (US-ANALYT-006/007, docs/runbooks/analytics.md).
--
-- qms.bi_tokens: read-only KPI access for a BI tool, per tenant. The token is '<tenant_id>.<secret>'; only
--   sha256 of it is stored. Revoked tokens stay for the audit trail.
-- qms.anomaly_rules: per service: waiting_over (tickets waiting > threshold), p90_wait_over_sla (p90 wait of
--   the tickets called in the last window_minutes > threshold x the service's SLA), no_show_spike (share of
--   no-shows among the tickets ended in the window > threshold, with at least min_tickets ended).
-- qms.anomaly_alerts: one row per episode: raised when a rule's condition starts to hold, cleared when it
--   stops; at most one open alert per rule (partial unique index).
create table qms.bi_tokens (
    tenant_id   uuid not null references qms.tenants (tenant_id),
    token_id    uuid not null default gen_random_uuid(),
    name        text not null check (length(btrim(name)) between 1 and 200),
    token_hash  bytea not null,
    created_at  timestamptz not null default now(),
    revoked_at  timestamptz,
    primary key (tenant_id, token_id),
    unique (tenant_id, token_hash)
);

create table qms.anomaly_rules (
    tenant_id       uuid not null,
    rule_id         uuid not null default gen_random_uuid(),
    branch_id       uuid not null,
    service_id      uuid not null,
    kind            text not null check (kind in ('waiting_over', 'p90_wait_over_sla', 'no_show_spike')),
    threshold       numeric not null check (threshold > 0),
    window_minutes  integer not null default 30 check (window_minutes between 1 and 1440),
    min_tickets     integer not null default 5 check (min_tickets between 1 and 10000),
    is_active       boolean not null default true,
    created_at      timestamptz not null default now(),
    primary key (tenant_id, rule_id),
    foreign key (tenant_id, branch_id, service_id) references qms.services (tenant_id, branch_id, service_id)
        on delete cascade
);

create table qms.anomaly_alerts (
    tenant_id    uuid not null,
    alert_id     uuid not null default gen_random_uuid(),
    rule_id      uuid not null,
    branch_id    uuid not null,
    service_id   uuid not null,
    kind         text not null,
    raised_at    timestamptz not null default now(),
    raised_value numeric,
    last_value   numeric,
    cleared_at   timestamptz,
    primary key (tenant_id, alert_id),
    foreign key (tenant_id, rule_id) references qms.anomaly_rules (tenant_id, rule_id) on delete cascade
);
create unique index anomaly_alerts_open_key on qms.anomaly_alerts (tenant_id, rule_id) where cleared_at is null;
create index anomaly_alerts_branch_idx on qms.anomaly_alerts (tenant_id, branch_id, raised_at);

alter table qms.bi_tokens enable row level security;
alter table qms.bi_tokens force row level security;
alter table qms.anomaly_rules enable row level security;
alter table qms.anomaly_rules force row level security;
alter table qms.anomaly_alerts enable row level security;
alter table qms.anomaly_alerts force row level security;
