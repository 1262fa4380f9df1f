-- Analytics reads (docs/adr/0014-analytics-rollups.md, US-ANALYT-002/004): analysts and admins of a tenant
-- read all its branches, supervisors their branches (RLS on the analytics tables decides), nobody another
-- tenant. Dates and buckets are in each branch's time zone; from_date and to_date are both inclusive.
--
-- api.kpi(from_date, to_date, branch_id, service_id, priority_class, channel, granularity) -> jsonb array,
--   one object per (bucket, branch, service) with tickets: {bucket, branch_id, service_id, tickets, served,
--   no_shows, cancelled, transferred, avg_wait_seconds, median_wait_seconds, p90_wait_seconds,
--   avg_service_seconds, sla_met_ratio}, ordered by bucket, branch, service. Counts and sums come from the
--   hourly rollups plus their pending deltas; median and p90 wait are exact (percentile_cont over the tickets'
--   facts of the same filter). Averages and ratios are over tickets that have the measure (waited: called at
--   least once; service time: served and completed); null when none has. bucket: 'YYYY-MM-DDTHH24:00' for
--   hour, else the first day of the day/week (ISO, Monday)/month.
-- api.kpi_tickets(same filters, after_ticket_id, page_size) -> jsonb array: the drill-down, tickets ordered by
--   issue time then id, page_size at most (1..5000), after the ticket after_ticket_id (keyset paging). No PII
--   (no contact, no name); timestamps as ISO 8601 in branch time.
-- Errors: PT403 FORBIDDEN (not analyst/supervisor/admin), PT401 TENANT_REQUIRED, PT400 INVALID_RANGE /
--   INVALID_FILTER / INVALID_GRANULARITY / INVALID_PAGE_SIZE / SERVICE_NOT_IN_BRANCH, PT404 BRANCH_NOT_FOUND /
--   SERVICE_NOT_FOUND. Stable, no locks.
create or replace function api.kpi(
    from_date date,
    to_date date,
    branch_id uuid default null,
    service_id uuid default null,
    priority_class text default null,
    channel text default null,
    granularity text default 'day'
) returns jsonb
    language plpgsql stable
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
    v_pct jsonb;
    v_result jsonb;
begin
    perform qms.require_role('qms_analyst', 'qms_supervisor', 'qms_admin');
    v_tenant := qms.require_tenant();
    if kpi.granularity is null or kpi.granularity not in ('hour', 'day', 'week', 'month') then
        perform qms.fail(400, 'INVALID_GRANULARITY', format('unknown granularity %s', kpi.granularity),
                         'Use hour, day, week or month.');
    end if;
    perform qms.analytics_require_filters(kpi.from_date, kpi.to_date, kpi.branch_id, kpi.service_id,
                                          kpi.priority_class, kpi.channel);
    -- Percentiles first, into a map keyed by bucket/branch/service: joining the two aggregates directly let the
    -- planner (row estimates of 1 under RLS) re-aggregate the facts once per KPI row.
    select coalesce(jsonb_object_agg(p.bucket::text || '|' || p.branch_id || '|' || p.service_id,
                                     jsonb_build_array(p.median_wait, p.p90_wait)), '{}')
      into v_pct
    from (select date_trunc(kpi.granularity, f.bucket_hour) as bucket, f.branch_id, f.service_id,
                 percentile_cont(0.5) within group (order by qms.analytics_wait_seconds(f)) as median_wait,
                 percentile_cont(0.9) within group (order by qms.analytics_wait_seconds(f)) as p90_wait
          from analytics.ticket_facts f
          where f.tenant_id = v_tenant
            and f.bucket_hour >= kpi.from_date and f.bucket_hour < kpi.to_date + 1
            and (kpi.branch_id is null or f.branch_id = kpi.branch_id)
            and (kpi.service_id is null or f.service_id = kpi.service_id)
            and (kpi.priority_class is null or f.priority_class = kpi.priority_class)
            and (kpi.channel is null or f.channel = kpi.channel)
            and f.first_called_at is not null
          group by 1, 2, 3) p;
    select coalesce(jsonb_agg(jsonb_build_object(
               'bucket', case kpi.granularity when 'hour' then to_char(s.bucket, 'YYYY-MM-DD"T"HH24:00')
                                              else to_char(s.bucket, 'YYYY-MM-DD') end,
               'branch_id', s.branch_id, 'service_id', s.service_id,
               'tickets', s.tickets, 'served', s.served, 'no_shows', s.no_shows, 'cancelled', s.cancelled,
               'transferred', s.transferred,
               'avg_wait_seconds', round(s.wait_sum / nullif(s.waited, 0), 3),
               'median_wait_seconds', round((s.pct ->> 0)::numeric, 3),
               'p90_wait_seconds', round((s.pct ->> 1)::numeric, 3),
               'avg_service_seconds', round(s.service_sum / nullif(s.service_timed, 0), 3),
               'sla_met_ratio', round(s.sla_met::numeric / nullif(s.waited, 0), 4))
             order by s.bucket, s.branch_id, s.service_id), '[]'::jsonb)
      into v_result
    from (select g.*, v_pct -> (g.bucket::text || '|' || g.branch_id || '|' || g.service_id) as pct
          from (select date_trunc(kpi.granularity, k.bucket_hour) as bucket, k.branch_id, k.service_id,
                       sum(k.tickets) as tickets, sum(k.served) as served, sum(k.no_shows) as no_shows,
                       sum(k.cancelled) as cancelled, sum(k.transferred) as transferred, sum(k.waited) as waited,
                       sum(k.wait_seconds_sum) as wait_sum, sum(k.sla_met) as sla_met,
                       sum(k.service_timed) as service_timed, sum(k.service_seconds_sum) as service_sum
                -- rollups plus pending deltas, read directly (not through analytics.hourly_kpis: its per-key
                -- grouping is a second sort of every row, and the per-bucket sums here make it unnecessary)
                from (select r.bucket_hour, r.branch_id, r.service_id, r.priority_class, r.channel, r.tickets,
                             r.served, r.no_shows, r.cancelled, r.transferred, r.waited, r.wait_seconds_sum,
                             r.sla_met, r.service_timed, r.service_seconds_sum
                      from analytics.hourly_rollups r where r.tenant_id = v_tenant
                      union all
                      select d.bucket_hour, d.branch_id, d.service_id, d.priority_class, d.channel, d.tickets,
                             d.served, d.no_shows, d.cancelled, d.transferred, d.waited, d.wait_seconds_sum,
                             d.sla_met, d.service_timed, d.service_seconds_sum
                      from analytics.hourly_rollup_deltas d where d.tenant_id = v_tenant) k
                where k.bucket_hour >= kpi.from_date and k.bucket_hour < kpi.to_date + 1
                  and (kpi.branch_id is null or k.branch_id = kpi.branch_id)
                  and (kpi.service_id is null or k.service_id = kpi.service_id)
                  and (kpi.priority_class is null or k.priority_class = kpi.priority_class)
                  and (kpi.channel is null or k.channel = kpi.channel)
                group by 1, 2, 3) g
          where g.tickets <> 0) s;
    return v_result;
end
$$;
comment on function api.kpi(date, date, uuid, uuid, text, text, text) is
    'KPIs per bucket (hour/day/week/month in branch time), branch and service: tickets, served, no-shows, '
    'cancelled, transferred, avg/median/p90 wait, avg service time, SLA met ratio. Analysts/admins: tenant; '
    'supervisors: their branches. PT400 INVALID_RANGE/INVALID_GRANULARITY/INVALID_FILTER, PT404.';

create or replace function api.kpi_tickets(
    from_date date,
    to_date date,
    branch_id uuid default null,
    service_id uuid default null,
    priority_class text default null,
    channel text default null,
    after_ticket_id uuid default null,
    page_size integer default 1000
) returns jsonb
    language plpgsql stable
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
    v_after analytics.ticket_facts;
    v_result jsonb;
begin
    perform qms.require_role('qms_analyst', 'qms_supervisor', 'qms_admin');
    v_tenant := qms.require_tenant();
    if kpi_tickets.page_size is null or kpi_tickets.page_size not between 1 and 5000 then
        perform qms.fail(400, 'INVALID_PAGE_SIZE', 'page_size must be between 1 and 5000', 'Pass e.g. 1000.');
    end if;
    perform qms.analytics_require_filters(kpi_tickets.from_date, kpi_tickets.to_date, kpi_tickets.branch_id,
                                          kpi_tickets.service_id, kpi_tickets.priority_class, kpi_tickets.channel);
    if kpi_tickets.after_ticket_id is not null then
        select * into v_after from analytics.ticket_facts f
        where f.tenant_id = v_tenant and f.ticket_id = kpi_tickets.after_ticket_id;
        if not found then
            perform qms.fail(404, 'TICKET_NOT_FOUND', 'ticket not found', 'Pass the last ticket_id of the previous page.');
        end if;
    end if;
    select coalesce(jsonb_agg(jsonb_build_object(
               'ticket_id', t.ticket_id, 'ticket_number', t.ticket_number, 'branch_id', t.branch_id,
               'service_id', t.service_id, 'counter_id', t.counter_id, 'priority_class', t.priority_class,
               'channel', t.channel, 'timezone', t.timezone, 'status', t.status, 'outcome', t.outcome,
               'transferred', t.transferred,
               'created_at', qms.branch_time_text(t.created_at, t.timezone),
               'first_called_at', qms.branch_time_text(t.first_called_at, t.timezone),
               'served_at', qms.branch_time_text(t.served_at, t.timezone),
               'completed_at', qms.branch_time_text(t.completed_at, t.timezone),
               'wait_seconds', round(t.wait_seconds, 3), 'service_seconds', round(t.service_seconds, 3),
               'sla_met', t.sla_met)
             order by t.created_at, t.ticket_id), '[]'::jsonb)
      into v_result
    from (select * from analytics.tickets f
          where f.tenant_id = v_tenant
            and f.bucket_hour >= kpi_tickets.from_date and f.bucket_hour < kpi_tickets.to_date + 1
            and (kpi_tickets.branch_id is null or f.branch_id = kpi_tickets.branch_id)
            and (kpi_tickets.service_id is null or f.service_id = kpi_tickets.service_id)
            and (kpi_tickets.priority_class is null or f.priority_class = kpi_tickets.priority_class)
            and (kpi_tickets.channel is null or f.channel = kpi_tickets.channel)
            and (v_after.ticket_id is null or (f.created_at, f.ticket_id) > (v_after.created_at, v_after.ticket_id))
          order by f.created_at, f.ticket_id
          limit kpi_tickets.page_size) t;
    return v_result;
end
$$;
comment on function api.kpi_tickets(date, date, uuid, uuid, text, text, uuid, integer) is
    'Drill-down of api.kpi: the tickets of the filter (no PII), branch-time timestamps, keyset paging '
    '(after_ticket_id, page_size 1..5000). PT400 INVALID_RANGE/INVALID_FILTER/INVALID_PAGE_SIZE, PT404.';
