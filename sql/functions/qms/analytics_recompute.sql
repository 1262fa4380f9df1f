-- qms.analytics_recompute_facts(tenant_id): the analytics facts of a tenant's tickets recomputed from the raw
--   tickets and their event log in one set-based query, independently of the trigger's step-by-step fold
--   (docs/adr/0014-analytics-rollups.md): identity, classes, status and the latest timestamps from
--   qms.tickets; first_called_at = the earliest called_at any event set, with the SLA of the service the
--   ticket was in at that event; counter = the last non-null counter of its events; transferred = any
--   ticket.transferred event; bucket_hour = the hour of issue in the branch's current time zone.
--   Used by worker.analytics_check (proof) and worker.analytics_rebuild (backfill). Security invoker: RLS of
--   the caller applies (a tenant-less worker reads every tenant). Stable, no locks, no errors.
create or replace function qms.analytics_recompute_facts(p_tenant_id uuid) returns setof analytics.ticket_facts
    language sql stable
as $$
    select t.tenant_id, t.ticket_id, t.branch_id, t.service_id, ev.last_counter_id, t.ticket_number,
           t.priority_class, t.channel, b.timezone, date_trunc('hour', t.created_at at time zone b.timezone),
           t.status::text, ev.transferred, t.created_at, fc.called_at, t.served_at, t.completed_at, t.ended_at,
           s.sla_minutes * 60, ev.last_seq
    from qms.tickets t
    join qms.branches b on b.tenant_id = t.tenant_id and b.branch_id = t.branch_id
    cross join lateral (
        select max(e.seq) as last_seq, bool_or(e.type = 'ticket.transferred') as transferred,
               (array_agg(e.counter_id order by e.ticket_seq desc) filter (where e.counter_id is not null))[1]
                   as last_counter_id
        from qms.ticket_events e where e.tenant_id = t.tenant_id and e.ticket_id = t.ticket_id) ev
    left join lateral (
        select (e.payload -> 'changes' ->> 'called_at')::timestamptz as called_at, e.service_id
        from qms.ticket_events e
        where e.tenant_id = t.tenant_id and e.ticket_id = t.ticket_id
          and e.payload -> 'changes' ->> 'called_at' is not null
        order by e.ticket_seq limit 1) fc on true
    left join qms.services s on s.tenant_id = t.tenant_id and s.service_id = fc.service_id
    where t.tenant_id = p_tenant_id
$$;
comment on function qms.analytics_recompute_facts(uuid) is
    'A tenant''s analytics facts recomputed from qms.tickets and qms.ticket_events (set-based, independent '
    'of the trigger).';

-- qms.analytics_freeze_events(): lock qms.ticket_events in share row exclusive mode until the transaction
--   ends, so no event is written while worker.analytics_rebuild replaces a tenant's analytics (the worker role
--   may only insert into the log, and a table lock of that mode needs more). Security definer; no errors.
create or replace function qms.analytics_freeze_events() returns void
    language plpgsql
    security definer
    set search_path = ''
as $$
begin
    lock table qms.ticket_events in share row exclusive mode;
end
$$;
comment on function qms.analytics_freeze_events() is
    'Block event writes until the end of the transaction (analytics rebuild).';
revoke all on function qms.analytics_freeze_events() from public;
grant execute on function qms.analytics_freeze_events() to qms_worker;
