-- Service rollups with wait histograms (docs/adr/0019-kpi-rollups-with-wait-histograms.md).
--
-- qms.analytics_grain_bucket(grain, bucket_hour): the bucket of a local hour in a grain: the hour itself
--   ('hour') or its local midnight ('day'). Immutable.
-- qms.analytics_rollup_members(priority_class, channel): the four service rollup rows a contribution of this
--   priority class and channel adds to: (class, channel), (class, '*'), ('*', channel), ('*', '*'); '*' is
--   "all", so api.kpi without a class or channel filter reads one row per service and bucket. Immutable.
-- qms.analytics_service_rollups_from_facts(tenant_id, recomputed): the analytics.service_rollups rows (both
--   grains) of a tenant summed from its tickets' facts: the stored facts (recomputed = false; used by
--   worker.analytics_rebuild after it replaced them) or qms.analytics_recompute_facts (recomputed = true;
--   used by worker.analytics_check). Each ticket contributes qms.analytics_delta(f, 1) to the rows of its
--   (branch, bucket, service) and qms.analytics_rollup_members in each grain, and one count to the
--   histogram cell of its wait bucket. Security invoker (the caller's RLS), stable, no locks, no errors.
create or replace function qms.analytics_grain_bucket(p_grain text, p_bucket_hour timestamp) returns timestamp
    language sql immutable parallel safe
as $$
    select case p_grain when 'hour' then p_bucket_hour else date_trunc('day', p_bucket_hour) end
$$;
comment on function qms.analytics_grain_bucket(text, timestamp) is
    'The bucket of a local hour in a rollup grain: the hour (hour) or its local midnight (day).';

create or replace function qms.analytics_rollup_members(p_priority_class text, p_channel text)
    returns table (priority_class text, channel text)
    language sql immutable parallel safe
as $$
    values (p_priority_class, p_channel), (p_priority_class, '*'), ('*', p_channel), ('*', '*')
$$;
comment on function qms.analytics_rollup_members(text, text) is
    'The (priority class, channel) rows of the service rollups a contribution adds to, ''*'' meaning all.';

create or replace function qms.analytics_service_rollups_from_facts(p_tenant_id uuid, p_recomputed boolean)
    returns setof analytics.service_rollups
    language sql stable
as $$
    with facts as (
        select f.* from analytics.ticket_facts f where f.tenant_id = p_tenant_id and not p_recomputed
        union all
        select r.* from qms.analytics_recompute_facts(p_tenant_id) r where p_recomputed
    ), contributions as (
        select d.tenant_id, d.branch_id, g.grain, qms.analytics_grain_bucket(g.grain, d.bucket_hour) as bucket,
               d.service_id, m.priority_class, m.channel, d.wait_bucket, count(*) as n, sum(d.served) as served,
               sum(d.no_shows) as no_shows, sum(d.cancelled) as cancelled, sum(d.transferred) as transferred,
               sum(d.waited) as waited, sum(d.wait_seconds_sum) as wait_seconds_sum, sum(d.sla_met) as sla_met,
               sum(d.service_timed) as service_timed, sum(d.service_seconds_sum) as service_seconds_sum
        from facts f
        cross join lateral qms.analytics_delta(f, 1) d
        cross join (values ('hour'), ('day')) g(grain)
        cross join lateral qms.analytics_rollup_members(d.priority_class, d.channel) m
        group by 1, 2, 3, 4, 5, 6, 7, 8
    )
    select c.tenant_id, c.branch_id, c.grain, c.bucket, c.service_id, c.priority_class, c.channel,
           sum(c.n)::integer, sum(c.served)::integer, sum(c.no_shows)::integer, sum(c.cancelled)::integer,
           sum(c.transferred)::integer, sum(c.waited)::integer, sum(c.wait_seconds_sum), sum(c.sla_met)::integer,
           sum(c.service_timed)::integer, sum(c.service_seconds_sum),
           qms.analytics_hist_from(array_agg(c.wait_bucket::integer), array_agg(c.waited)), now()
    from contributions c
    group by c.tenant_id, c.branch_id, c.grain, c.bucket, c.service_id, c.priority_class, c.channel
$$;
comment on function qms.analytics_service_rollups_from_facts(uuid, boolean) is
    'A tenant''s service rollups (hour and day grains, with wait histograms) summed from its stored or '
    'recomputed facts.';
