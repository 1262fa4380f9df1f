-- Reads of the analytics snapshot worker (workers/analytics_snapshot.py, docs/adr/0015-datasette-snapshots.md):
-- one SQLite file per tenant, refreshed incrementally by the event seq of the tickets' facts. All of them are
-- for qms_worker only (PT403 FORBIDDEN otherwise), stable reads without locks, and return no PII: ids,
-- names of branches, services and counters, classes, channels, statuses, timestamps and metrics.
--
-- worker.analytics_snapshot_watermark(): the seq up to which every ticket event is visible to this
--   transaction (qms.event_watermark). Call it first in a read-only repeatable read transaction. The samples
--   it relies on are taken by the relay and by the snapshot job (qms.sample_event_horizon, in a short
--   transaction of its own: a sampler holds an xid, which would hold back every watermark while it reads).
-- worker.analytics_tenants(): active tenants with the highest facts seq each (null without facts).
-- worker.analytics_snapshot_tickets(tenant_id, after_seq, upto_seq): the tickets (analytics.tickets) whose
--   facts changed in (after_seq, upto_seq], timestamps as ISO 8601 in branch time.
-- worker.analytics_snapshot_hours(tenant_id, branch_ids, bucket_hours): the hourly KPI rows
--   (analytics.hourly_kpis) of the given (branch, local hour) pairs, paired by position.
-- worker.analytics_snapshot_dimensions(tenant_id): {branches, services, counters} with names.
create or replace function worker.analytics_snapshot_watermark() returns bigint
    language plpgsql stable
    security invoker
as $$
begin
    perform qms.require_role('qms_worker');
    return qms.event_watermark();
end
$$;
comment on function worker.analytics_snapshot_watermark() is
    'The seq up to which every ticket event is visible in this snapshot (PT403 FORBIDDEN).';

create or replace function worker.analytics_tenants()
    returns table (tenant_id uuid, slug text, last_seq bigint)
    language plpgsql stable
    security invoker
as $$
begin
    perform qms.require_role('qms_worker');
    return query
    select t.tenant_id, t.slug,
           (select max(f.last_seq) from analytics.ticket_facts f where f.tenant_id = t.tenant_id)
    from qms.tenants t where t.is_active order by t.slug;
end
$$;
comment on function worker.analytics_tenants() is 'Active tenants and their highest analytics facts seq.';

create or replace function worker.analytics_snapshot_tickets(tenant_id uuid, after_seq bigint, upto_seq bigint)
    returns table (ticket_id uuid, ticket_number text, branch_id uuid, service_id uuid, counter_id uuid,
                   priority_class text, channel text, timezone text, bucket_hour timestamp, status text,
                   outcome text, transferred boolean, created_at text, first_called_at text, served_at text,
                   completed_at text, wait_seconds numeric, service_seconds numeric, sla_seconds integer,
                   sla_met boolean, last_seq bigint)
    language plpgsql stable
    security invoker
as $$
#variable_conflict use_column
begin
    perform qms.require_role('qms_worker');
    return query
    select t.ticket_id, t.ticket_number, t.branch_id, t.service_id, t.counter_id, t.priority_class, t.channel,
           t.timezone, t.bucket_hour, t.status, t.outcome, t.transferred,
           qms.branch_time_text(t.created_at, t.timezone), qms.branch_time_text(t.first_called_at, t.timezone),
           qms.branch_time_text(t.served_at, t.timezone), qms.branch_time_text(t.completed_at, t.timezone),
           t.wait_seconds, t.service_seconds, t.sla_seconds, t.sla_met, t.last_seq
    from analytics.tickets t
    where t.tenant_id = analytics_snapshot_tickets.tenant_id
      and t.last_seq > analytics_snapshot_tickets.after_seq and t.last_seq <= analytics_snapshot_tickets.upto_seq;
end
$$;
comment on function worker.analytics_snapshot_tickets(uuid, bigint, bigint) is
    'Tickets of a tenant whose analytics facts changed in (after_seq, upto_seq], branch-time timestamps, no PII.';

create or replace function worker.analytics_snapshot_hours(tenant_id uuid, branch_ids uuid[], bucket_hours timestamp[])
    returns table (branch_id uuid, bucket_hour timestamp, service_id uuid, priority_class text, channel text,
                   counter_id uuid, tickets bigint, served bigint, no_shows bigint, cancelled bigint,
                   transferred bigint, waited bigint, wait_seconds_sum numeric, sla_met bigint,
                   service_timed bigint, service_seconds_sum numeric)
    language plpgsql stable
    security invoker
as $$
#variable_conflict use_column
begin
    perform qms.require_role('qms_worker');
    return query
    -- The rollups and pending deltas of the pairs only (by the rollups' unique key), summed per key as in
    -- analytics.hourly_kpis; going through the view would group the whole tenant first.
    with pairs as (
        select distinct p.branch_id, p.bucket_hour
        from unnest(analytics_snapshot_hours.branch_ids, analytics_snapshot_hours.bucket_hours) as p(branch_id, bucket_hour)
    )
    select u.branch_id, u.bucket_hour, u.service_id, u.priority_class, u.channel, u.counter_id,
           sum(u.tickets)::bigint, sum(u.served)::bigint, sum(u.no_shows)::bigint, sum(u.cancelled)::bigint,
           sum(u.transferred)::bigint, sum(u.waited)::bigint, sum(u.wait_seconds_sum), sum(u.sla_met)::bigint,
           sum(u.service_timed)::bigint, sum(u.service_seconds_sum)
    from (select r.branch_id, r.bucket_hour, r.service_id, r.priority_class, r.channel, r.counter_id, r.tickets,
                 r.served, r.no_shows, r.cancelled, r.transferred, r.waited, r.wait_seconds_sum, r.sla_met,
                 r.service_timed, r.service_seconds_sum
          from pairs p join analytics.hourly_rollups r
            on r.tenant_id = analytics_snapshot_hours.tenant_id and r.branch_id = p.branch_id
           and r.bucket_hour = p.bucket_hour
          union all
          select d.branch_id, d.bucket_hour, d.service_id, d.priority_class, d.channel, d.counter_id, d.tickets,
                 d.served, d.no_shows, d.cancelled, d.transferred, d.waited, d.wait_seconds_sum, d.sla_met,
                 d.service_timed, d.service_seconds_sum
          from pairs p join analytics.hourly_rollup_deltas d
            on d.tenant_id = analytics_snapshot_hours.tenant_id and d.branch_id = p.branch_id
           and d.bucket_hour = p.bucket_hour) u
    group by u.branch_id, u.bucket_hour, u.service_id, u.priority_class, u.channel, u.counter_id
    having sum(u.tickets) <> 0 or sum(u.served) <> 0 or sum(u.no_shows) <> 0 or sum(u.cancelled) <> 0
        or sum(u.transferred) <> 0 or sum(u.waited) <> 0 or sum(u.wait_seconds_sum) <> 0 or sum(u.sla_met) <> 0
        or sum(u.service_timed) <> 0 or sum(u.service_seconds_sum) <> 0;
end
$$;
comment on function worker.analytics_snapshot_hours(uuid, uuid[], timestamp[]) is
    'Hourly KPI rows of a tenant for (branch, local hour) pairs.';

create or replace function worker.analytics_snapshot_dimensions(tenant_id uuid) returns jsonb
    language plpgsql stable
    security invoker
as $$
#variable_conflict use_column
begin
    perform qms.require_role('qms_worker');
    return jsonb_build_object(
        'branches', (select coalesce(jsonb_agg(jsonb_build_object('branch_id', b.branch_id, 'name', b.name,
                                                                  'timezone', b.timezone) order by b.name), '[]')
                     from qms.branches b where b.tenant_id = analytics_snapshot_dimensions.tenant_id),
        'services', (select coalesce(jsonb_agg(jsonb_build_object('service_id', s.service_id, 'branch_id', s.branch_id,
                                                                  'name', s.name, 'sla_minutes', s.sla_minutes)
                                               order by s.name), '[]')
                     from qms.services s where s.tenant_id = analytics_snapshot_dimensions.tenant_id),
        'counters', (select coalesce(jsonb_agg(jsonb_build_object('counter_id', c.counter_id, 'branch_id', c.branch_id,
                                                                  'name', c.name) order by c.name), '[]')
                     from qms.counters c where c.tenant_id = analytics_snapshot_dimensions.tenant_id));
end
$$;
comment on function worker.analytics_snapshot_dimensions(uuid) is
    'Branches, services and counters of a tenant (ids, names, time zone, SLA) for the snapshot.';
