-- Queue engine core (docs/engine.md): the call order index, per-service anti-starvation state and the
-- indexes the engine's reads need.

-- Call order inside a service: priority class rank (emergency 0, vip 1, priority 2, regular 3), then
-- queued_at. A stored generated column so the order is one index scan.
alter table qms.tickets
    add column priority_rank smallint not null generated always as (
        case priority_class when 'emergency' then 0 when 'vip' then 1 when 'priority' then 2 else 3 end
    ) stored;

-- The hot queue index: waiting tickets only, in call order. It replaces tickets_waiting_idx (same
-- leading columns, so every query of the old index is served by this one).
create index tickets_queue_idx on qms.tickets (tenant_id, service_id, priority_rank, queued_at)
    where status = 'waiting';
drop index qms.tickets_waiting_idx;

-- Recent service times per service (estimated_wait_seconds).
create index tickets_done_idx on qms.tickets (tenant_id, service_id, completed_at) where status = 'done';

-- Called tickets leave dead entries at the queue head until vacuum: vacuum the tickets table early, and
-- leave room on each page for HOT updates of the event counters.
alter table qms.tickets set (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
                             autovacuum_analyze_scale_factor = 0.02, fillfactor = 85);

-- Anti-starvation: consecutive non-regular calls per service. Written only when the value changes, so a
-- queue of regular tickets never touches it.
create table qms.service_call_state (
    tenant_id             uuid not null,
    service_id            uuid not null,
    consecutive_priority  integer not null default 0 check (consecutive_priority >= 0),
    updated_at            timestamptz not null default now(),
    primary key (tenant_id, service_id),
    foreign key (tenant_id, service_id) references qms.services (tenant_id, service_id) on delete cascade
);
alter table qms.service_call_state enable row level security;
alter table qms.service_call_state force row level security;

-- A transfer moves a ticket to another service but keeps its number, so a number is unique per issuing
-- service and day by its counter row (qms.ticket_number_counters), not per current service: the unique
-- index of V0001 would refuse a transfer. Look-ups by number go through the branch and day instead.
drop index qms.tickets_number_key;
create index tickets_number_idx on qms.tickets (tenant_id, branch_id, business_date, ticket_number);
