-- Analytics reads (docs/adr/0014-analytics-rollups.md, US-ANALYT-002/004): analysts and admins of a tenant
-- read all its branches, supervisors their branches (RLS on the analytics tables decides), nobody another
-- tenant. Dates and buckets are in each branch's time zone; from_date and to_date are both inclusive.
--
-- api.kpi(from_date, to_date, branch_id, service_id, priority_class, channel, granularity) -> jsonb array,
--   one object per (bucket, branch, service) with tickets: {bucket, branch_id, service_id, tickets, served,
--   no_shows, cancelled, transferred, avg_wait_seconds, median_wait_seconds, p90_wait_seconds,
--   avg_service_seconds, sla_met_ratio}, ordered by bucket, branch, service. Everything comes from
--   analytics.service_rollups (grain hour for hours, day for days/weeks/months) plus the pending deltas:
--   counts, sums and averages exactly; median and p90 wait from the wait histograms, within the bound of
--   docs/adr/0019-kpi-rollups-with-wait-histograms.md (|estimate - exact| < 5 % of the exact value + 1 s;
--   exact = percentile_cont over the tickets' waits). Averages and ratios are over tickets that have the
--   measure (waited: called at least once; service time: served and completed); null when none has. bucket: 'YYYY-MM-DDTHH24:00' for
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
    v_grain text := case when kpi.granularity = 'hour' then 'hour' else 'day' end;
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
    with rollups as (      -- the service rollups of the grain (hour for hours, day for days, weeks, months), of the
                           -- filter's class and channel ('*': all)
        select date_trunc(kpi.granularity, r.bucket) as period, r.branch_id, r.service_id, r.tickets, r.served,
               r.no_shows, r.cancelled, r.transferred, r.waited, r.wait_seconds_sum, r.sla_met, r.service_timed,
               r.service_seconds_sum, r.wait_hist
        from analytics.service_rollups r
        where r.tenant_id = v_tenant and r.grain = v_grain
          and r.bucket >= kpi.from_date and r.bucket < kpi.to_date + 1
          and (kpi.branch_id is null or r.branch_id = kpi.branch_id)
          and (kpi.service_id is null or r.service_id = kpi.service_id)
          and r.priority_class = coalesce(kpi.priority_class, '*') and r.channel = coalesce(kpi.channel, '*')
    ), deltas as (         -- plus the deltas not folded yet
        select date_trunc(kpi.granularity, d.bucket_hour) as period, d.branch_id, d.service_id, d.tickets,
               d.served, d.no_shows, d.cancelled, d.transferred, d.waited, d.wait_seconds_sum, d.sla_met,
               d.service_timed, d.service_seconds_sum, d.wait_bucket
        from analytics.hourly_rollup_deltas d
        where d.tenant_id = v_tenant and d.bucket_hour >= kpi.from_date and d.bucket_hour < kpi.to_date + 1
          and (kpi.branch_id is null or d.branch_id = kpi.branch_id)
          and (kpi.service_id is null or d.service_id = kpi.service_id)
          and (kpi.priority_class is null or d.priority_class = kpi.priority_class)
          and (kpi.channel is null or d.channel = kpi.channel)
    ), sums as (
        select u.period, u.branch_id, u.service_id, sum(u.tickets) as tickets, sum(u.served) as served,
               sum(u.no_shows) as no_shows, sum(u.cancelled) as cancelled, sum(u.transferred) as transferred,
               sum(u.waited) as waited, sum(u.wait_seconds_sum) as wait_sum, sum(u.sla_met) as sla_met,
               sum(u.service_timed) as service_timed, sum(u.service_seconds_sum) as service_sum
        from (select r.period, r.branch_id, r.service_id, r.tickets, r.served, r.no_shows, r.cancelled,
                     r.transferred, r.waited, r.wait_seconds_sum, r.sla_met, r.service_timed, r.service_seconds_sum
              from rollups r
              union all
              select d.period, d.branch_id, d.service_id, d.tickets, d.served, d.no_shows, d.cancelled,
                     d.transferred, d.waited, d.wait_seconds_sum, d.sla_met, d.service_timed, d.service_seconds_sum
              from deltas d) u
        group by 1, 2, 3
    ), cells as (          -- the wait histogram of each KPI row: count per wait bucket
        select u.period, u.branch_id, u.service_id, u.wb, sum(u.n)::bigint as n
        from (select r.period, r.branch_id, r.service_id, h.key::integer as wb, h.value::integer as n
              from rollups r cross join lateral jsonb_each_text(r.wait_hist) h
              union all
              select d.period, d.branch_id, d.service_id, d.wait_bucket, d.waited
              from deltas d where d.wait_bucket is not null) u
        group by 1, 2, 3, 4
        having sum(u.n) > 0
    ), percentiles as (    -- median and p90 of each KPI row from its histogram (qms.analytics_hist_quantiles)
        select c.period, c.branch_id, c.service_id,
               qms.analytics_hist_quantiles(array_agg(c.wb order by c.wb), array_agg(c.n order by c.wb)) as pq
        from cells c
        group by 1, 2, 3
    )
    select coalesce(jsonb_agg(jsonb_build_object(
               'bucket', case kpi.granularity when 'hour' then to_char(k.period, 'YYYY-MM-DD"T"HH24:00')
                                              else to_char(k.period, 'YYYY-MM-DD') end,
               'branch_id', k.branch_id, 'service_id', k.service_id,
               'tickets', k.tickets, 'served', k.served, 'no_shows', k.no_shows, 'cancelled', k.cancelled,
               'transferred', k.transferred,
               'avg_wait_seconds', round(k.wait_sum / nullif(k.waited, 0), 3),
               'median_wait_seconds', round(k.median_wait::numeric, 3),
               'p90_wait_seconds', round(k.p90_wait::numeric, 3),
               'avg_service_seconds', round(k.service_sum / nullif(k.service_timed, 0), 3),
               'sla_met_ratio', round(k.sla_met::numeric / nullif(k.waited, 0), 4))
             order by k.period, k.branch_id, k.service_id), '[]'::jsonb)
      into v_result
    -- sums and percentiles of a KPI row side by side by grouping, not by a join (the planner, expecting one
    -- row of each, would rescan one side per row of the other)
    from (select u.period, u.branch_id, u.service_id, max(u.tickets) as tickets, max(u.served) as served,
                 max(u.no_shows) as no_shows, max(u.cancelled) as cancelled, max(u.transferred) as transferred,
                 max(u.waited) as waited, max(u.wait_sum) as wait_sum, max(u.sla_met) as sla_met,
                 max(u.service_timed) as service_timed, max(u.service_sum) as service_sum,
                 max(u.median_wait) as median_wait, max(u.p90_wait) as p90_wait
          from (select s.*, null::double precision as median_wait, null::double precision as p90_wait from sums s
                union all
                select p.period, p.branch_id, p.service_id, null, null, null, null, null, null, null, null, null,
                       null, p.pq[1], p.pq[2]
                from percentiles p) u
          group by 1, 2, 3) k
    where k.tickets <> 0;
    return v_result;
end
$$;
comment on function api.kpi(date, date, uuid, uuid, text, text, text) is
    'KPIs per bucket (hour/day/week/month in branch time), branch and service: tickets, served, no-shows, '
    'cancelled, transferred, avg/median/p90 wait (median/p90 from wait histograms: within 5 percent + 1 s), avg '
    'service time, SLA met ratio. Analysts/admins: tenant; '
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
