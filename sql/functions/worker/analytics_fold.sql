-- worker.analytics_fold(max_rows): fold the oldest rollup deltas (analytics.hourly_rollup_deltas, appended by
--   the event trigger) into analytics.hourly_rollups and into analytics.service_rollups (hour and day grains,
--   wait histograms: docs/adr/0019-kpi-rollups-with-wait-histograms.md) and delete them; returns how many deltas it folded
--   (call again while it returns max_rows). Readers sum rollups and deltas (analytics.hourly_kpis), so a fold
--   changes no answer; it only keeps the delta table short.
-- Errors: PT403 FORBIDDEN (not qms_worker), PT400 INVALID_MAX_ROWS (not 1..100000).
-- Concurrency: deltas are claimed `for update skip locked`, so two folders take disjoint batches; the
--   rollup rows of each table are upserted in key order (no deadlock between folders). Idempotent: a folded delta is gone.
create or replace function worker.analytics_fold(max_rows integer default 10000) returns integer
    language plpgsql
    security invoker
as $$
declare
    v_count integer;
begin
    perform qms.require_role('qms_worker');
    perform qms.require_max_rows(analytics_fold.max_rows, 100000, 10000);
    with picked as (
        select d.tenant_id, d.delta_id from analytics.hourly_rollup_deltas d
        order by d.delta_id limit analytics_fold.max_rows for update skip locked
    ), gone as (
        delete from analytics.hourly_rollup_deltas d using picked p
        where d.tenant_id = p.tenant_id and d.delta_id = p.delta_id
        returning d.*
    ), summed as (
        select g.tenant_id, g.branch_id, g.bucket_hour, g.service_id, g.priority_class, g.channel, g.counter_id,
               sum(g.tickets) as tickets, sum(g.served) as served, sum(g.no_shows) as no_shows,
               sum(g.cancelled) as cancelled, sum(g.transferred) as transferred, sum(g.waited) as waited,
               sum(g.wait_seconds_sum) as wait_seconds_sum, sum(g.sla_met) as sla_met,
               sum(g.service_timed) as service_timed, sum(g.service_seconds_sum) as service_seconds_sum,
               count(*) as n
        from gone g
        group by g.tenant_id, g.branch_id, g.bucket_hour, g.service_id, g.priority_class, g.channel, g.counter_id
    ), upserted as (
        insert into analytics.hourly_rollups as r (tenant_id, branch_id, bucket_hour, service_id, priority_class,
            channel, counter_id, tickets, served, no_shows, cancelled, transferred, waited, wait_seconds_sum, sla_met,
            service_timed, service_seconds_sum)
        select s.tenant_id, s.branch_id, s.bucket_hour, s.service_id, s.priority_class, s.channel, s.counter_id,
               s.tickets, s.served, s.no_shows, s.cancelled, s.transferred, s.waited, s.wait_seconds_sum, s.sla_met,
               s.service_timed, s.service_seconds_sum
        from summed s
        order by s.tenant_id, s.branch_id, s.bucket_hour, s.service_id, s.priority_class, s.channel, s.counter_id
        on conflict on constraint hourly_rollups_key do update
           set tickets = r.tickets + excluded.tickets, served = r.served + excluded.served,
               no_shows = r.no_shows + excluded.no_shows, cancelled = r.cancelled + excluded.cancelled,
               transferred = r.transferred + excluded.transferred, waited = r.waited + excluded.waited,
               wait_seconds_sum = r.wait_seconds_sum + excluded.wait_seconds_sum, sla_met = r.sla_met + excluded.sla_met,
               service_timed = r.service_timed + excluded.service_timed,
               service_seconds_sum = r.service_seconds_sum + excluded.service_seconds_sum, updated_at = now()
        returning 1
    ), cells as (
        select g.tenant_id, g.branch_id, k.grain, qms.analytics_grain_bucket(k.grain, g.bucket_hour) as bucket,
               g.service_id, m.priority_class, m.channel, g.wait_bucket, sum(g.tickets) as tickets,
               sum(g.served) as served, sum(g.no_shows) as no_shows, sum(g.cancelled) as cancelled,
               sum(g.transferred) as transferred, sum(g.waited) as waited, sum(g.wait_seconds_sum) as wait_seconds_sum,
               sum(g.sla_met) as sla_met, sum(g.service_timed) as service_timed,
               sum(g.service_seconds_sum) as service_seconds_sum
        from gone g cross join (values ('hour'), ('day')) k(grain)
        cross join lateral qms.analytics_rollup_members(g.priority_class, g.channel) m
        group by 1, 2, 3, 4, 5, 6, 7, 8
    ), service_upserted as (
        insert into analytics.service_rollups as r (tenant_id, branch_id, grain, bucket, service_id, priority_class,
            channel, tickets, served, no_shows, cancelled, transferred, waited, wait_seconds_sum, sla_met,
            service_timed, service_seconds_sum, wait_hist)
        select c.tenant_id, c.branch_id, c.grain, c.bucket, c.service_id, c.priority_class, c.channel,
               sum(c.tickets), sum(c.served), sum(c.no_shows), sum(c.cancelled), sum(c.transferred), sum(c.waited),
               sum(c.wait_seconds_sum), sum(c.sla_met), sum(c.service_timed), sum(c.service_seconds_sum),
               qms.analytics_hist_from(array_agg(c.wait_bucket::integer), array_agg(c.waited))
        from cells c
        group by c.tenant_id, c.branch_id, c.grain, c.bucket, c.service_id, c.priority_class, c.channel
        order by c.tenant_id, c.branch_id, c.grain, c.bucket, c.service_id, c.priority_class, c.channel
        on conflict (tenant_id, branch_id, grain, bucket, service_id, priority_class, channel) do update
           set tickets = r.tickets + excluded.tickets, served = r.served + excluded.served,
               no_shows = r.no_shows + excluded.no_shows, cancelled = r.cancelled + excluded.cancelled,
               transferred = r.transferred + excluded.transferred, waited = r.waited + excluded.waited,
               wait_seconds_sum = r.wait_seconds_sum + excluded.wait_seconds_sum, sla_met = r.sla_met + excluded.sla_met,
               service_timed = r.service_timed + excluded.service_timed,
               service_seconds_sum = r.service_seconds_sum + excluded.service_seconds_sum,
               wait_hist = qms.analytics_hist_add(r.wait_hist, excluded.wait_hist), updated_at = now()
        returning 1
    )
    select coalesce(sum(s.n), 0) into v_count from summed s;
    return v_count;
end
$$;
comment on function worker.analytics_fold(integer) is
    'Fold up to max_rows rollup deltas into analytics.hourly_rollups; returns the number folded. '
    'PT403 FORBIDDEN, PT400 INVALID_MAX_ROWS.';
