-- worker.analytics_check(tenant_id): the proof that the incrementally maintained analytics equal a
--   recomputation from the raw tickets (docs/adr/0014-analytics-rollups.md). Returns one row per difference
--   (none when they agree): kind 'fact' (a ticket whose stored facts differ from
--   qms.analytics_recompute_facts) or 'rollup' (an hourly rollup key whose stored sums, rollups plus unfolded
--   deltas, differ from the sums of the recomputed facts); side says which set holds the row ('stored' or
--   'recomputed'), row is that row as JSON.
-- Errors: PT403 FORBIDDEN (not qms_worker), PT400 TENANT_REQUIRED_ARG (tenant_id null). Stable, no locks.
create or replace function worker.analytics_check(tenant_id uuid)
    returns table (kind text, side text, "row" jsonb)
    language plpgsql stable
    security invoker
as $$
#variable_conflict use_column
begin
    perform qms.require_role('qms_worker');
    if analytics_check.tenant_id is null then
        perform qms.fail(400, 'TENANT_REQUIRED_ARG', 'tenant_id is required', 'Pass the tenant to check.');
    end if;
    return query
    with stored_facts as (
        select * from analytics.ticket_facts f where f.tenant_id = analytics_check.tenant_id
    ), recomputed_facts as (
        select * from qms.analytics_recompute_facts(analytics_check.tenant_id)
    ), stored_rollups as (
        select k.branch_id, k.bucket_hour, k.service_id, k.priority_class, k.channel, k.counter_id, k.tickets,
               k.served, k.no_shows, k.cancelled, k.transferred, k.waited, k.wait_seconds_sum, k.sla_met,
               k.service_timed, k.service_seconds_sum
        from analytics.hourly_kpis k where k.tenant_id = analytics_check.tenant_id
    ), recomputed_rollups as (
        select d.branch_id, d.bucket_hour, d.service_id, d.priority_class, d.channel, d.counter_id,
               sum(d.tickets)::bigint, sum(d.served)::bigint, sum(d.no_shows)::bigint, sum(d.cancelled)::bigint,
               sum(d.transferred)::bigint, sum(d.waited)::bigint, sum(d.wait_seconds_sum), sum(d.sla_met)::bigint,
               sum(d.service_timed)::bigint, sum(d.service_seconds_sum)
        from recomputed_facts f cross join lateral qms.analytics_delta(f, 1) d
        group by d.branch_id, d.bucket_hour, d.service_id, d.priority_class, d.channel, d.counter_id
    ), stored_service as (
        select k.branch_id, k.grain, k.bucket, k.service_id, k.priority_class, k.channel, k.tickets, k.served,
               k.no_shows, k.cancelled, k.transferred, k.waited, k.wait_seconds_sum, k.sla_met, k.service_timed,
               k.service_seconds_sum, k.wait_hist
        from analytics.service_kpis k where k.tenant_id = analytics_check.tenant_id
    ), recomputed_service as (
        select r.branch_id, r.grain, r.bucket, r.service_id, r.priority_class, r.channel, r.tickets, r.served,
               r.no_shows, r.cancelled, r.transferred, r.waited, r.wait_seconds_sum, r.sla_met, r.service_timed,
               r.service_seconds_sum, r.wait_hist
        from qms.analytics_service_rollups_from_facts(analytics_check.tenant_id, true) r
    )
    select 'fact', 'stored', to_jsonb(x) from (select * from stored_facts except select * from recomputed_facts) x
    union all
    select 'fact', 'recomputed', to_jsonb(x) from (select * from recomputed_facts except select * from stored_facts) x
    union all
    select 'rollup', 'stored', to_jsonb(x)
    from (select * from stored_rollups except select * from recomputed_rollups) x
    union all
    select 'rollup', 'recomputed', to_jsonb(x)
    from (select * from recomputed_rollups except select * from stored_rollups) x
    union all
    select 'service_rollup', 'stored', to_jsonb(x)
    from (select * from stored_service except select * from recomputed_service) x
    union all
    select 'service_rollup', 'recomputed', to_jsonb(x)
    from (select * from recomputed_service except select * from stored_service) x;
end
$$;
comment on function worker.analytics_check(uuid) is
    'Differences between the stored analytics (facts, rollups + deltas) and a recomputation from raw tickets; '
    'empty when they agree. PT403 FORBIDDEN, PT400 TENANT_REQUIRED_ARG.';
