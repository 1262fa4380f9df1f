-- Analytics (docs/adr/0014-analytics-rollups.md): row-level security, the reporting views and the event
-- trigger that maintains the facts and rollups. Re-applied on every deploy. The engine's roles never write
-- these tables themselves: the trigger function is security definer.
alter table analytics.ticket_facts enable row level security;
alter table analytics.ticket_facts force row level security;
alter table analytics.hourly_rollups enable row level security;
alter table analytics.hourly_rollups force row level security;
alter table analytics.hourly_rollup_deltas enable row level security;
alter table analytics.hourly_rollup_deltas force row level security;
alter table analytics.service_rollups enable row level security;
alter table analytics.service_rollups force row level security;

-- Readers: analysts and admins tenant-wide, supervisors (and branch-scoped admins) their branches.
drop policy if exists ticket_facts_select_scoped on analytics.ticket_facts;
create policy ticket_facts_select_scoped on analytics.ticket_facts for select
    to qms_analyst, qms_supervisor, qms_admin
    using (tenant_id = (select qms.current_tenant_id())
           and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists hourly_rollups_select_scoped on analytics.hourly_rollups;
create policy hourly_rollups_select_scoped on analytics.hourly_rollups for select
    to qms_analyst, qms_supervisor, qms_admin
    using (tenant_id = (select qms.current_tenant_id())
           and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists hourly_rollup_deltas_select_scoped on analytics.hourly_rollup_deltas;
create policy hourly_rollup_deltas_select_scoped on analytics.hourly_rollup_deltas for select
    to qms_analyst, qms_supervisor, qms_admin
    using (tenant_id = (select qms.current_tenant_id())
           and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists service_rollups_select_scoped on analytics.service_rollups;
create policy service_rollups_select_scoped on analytics.service_rollups for select
    to qms_analyst, qms_supervisor, qms_admin
    using (tenant_id = (select qms.current_tenant_id())
           and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
-- The worker (fold, check, rebuild, snapshots): its tenant, or every tenant without a tenant claim.
drop policy if exists ticket_facts_all_worker on analytics.ticket_facts;
create policy ticket_facts_all_worker on analytics.ticket_facts for all to qms_worker
    using (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))
    with check (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()));
drop policy if exists hourly_rollups_all_worker on analytics.hourly_rollups;
create policy hourly_rollups_all_worker on analytics.hourly_rollups for all to qms_worker
    using (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))
    with check (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()));
drop policy if exists hourly_rollup_deltas_all_worker on analytics.hourly_rollup_deltas;
create policy hourly_rollup_deltas_all_worker on analytics.hourly_rollup_deltas for all to qms_worker
    using (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))
    with check (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()));
drop policy if exists service_rollups_all_worker on analytics.service_rollups;
create policy service_rollups_all_worker on analytics.service_rollups for all to qms_worker
    using (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))
    with check (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()));

revoke all on analytics.ticket_facts, analytics.hourly_rollups, analytics.hourly_rollup_deltas,
    analytics.service_rollups from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select on analytics.ticket_facts, analytics.hourly_rollups, analytics.hourly_rollup_deltas,
    analytics.service_rollups to qms_analyst, qms_supervisor, qms_admin;
grant select, insert, update, delete on analytics.ticket_facts, analytics.hourly_rollups,
    analytics.hourly_rollup_deltas, analytics.service_rollups to qms_worker;
grant usage on schema analytics to qms_worker;

-- Views (security invoker: the caller's RLS applies). hourly_kpis: rollups plus unfolded deltas per key,
-- keys whose sums are all zero left out; daily_kpis: the same per day of branch time; tickets: the facts
-- with their metrics (no PII).
create or replace view analytics.hourly_kpis with (security_invoker = true) as
select u.tenant_id, u.branch_id, u.bucket_hour, u.service_id, u.priority_class, u.channel, u.counter_id,
       sum(u.tickets)::bigint as tickets, sum(u.served)::bigint as served, sum(u.no_shows)::bigint as no_shows,
       sum(u.cancelled)::bigint as cancelled, sum(u.transferred)::bigint as transferred,
       sum(u.waited)::bigint as waited, sum(u.wait_seconds_sum) as wait_seconds_sum,
       sum(u.sla_met)::bigint as sla_met, sum(u.service_timed)::bigint as service_timed,
       sum(u.service_seconds_sum) as service_seconds_sum
from (select r.tenant_id, r.branch_id, r.bucket_hour, r.service_id, r.priority_class, r.channel, r.counter_id,
             r.tickets, r.served, r.no_shows, r.cancelled, r.transferred, r.waited, r.wait_seconds_sum, r.sla_met,
             r.service_timed, r.service_seconds_sum
      from analytics.hourly_rollups r
      union all
      select d.tenant_id, d.branch_id, d.bucket_hour, d.service_id, d.priority_class, d.channel, d.counter_id,
             d.tickets, d.served, d.no_shows, d.cancelled, d.transferred, d.waited, d.wait_seconds_sum, d.sla_met,
             d.service_timed, d.service_seconds_sum
      from analytics.hourly_rollup_deltas d) u
group by u.tenant_id, u.branch_id, u.bucket_hour, u.service_id, u.priority_class, u.channel, u.counter_id
having sum(u.tickets) <> 0 or sum(u.served) <> 0 or sum(u.no_shows) <> 0 or sum(u.cancelled) <> 0
    or sum(u.transferred) <> 0 or sum(u.waited) <> 0 or sum(u.wait_seconds_sum) <> 0 or sum(u.sla_met) <> 0
    or sum(u.service_timed) <> 0 or sum(u.service_seconds_sum) <> 0;
comment on view analytics.hourly_kpis is
    'Hourly sums per tenant, branch, hour (branch time), service, priority class, channel and counter.';

create or replace view analytics.daily_kpis with (security_invoker = true) as
select k.tenant_id, k.branch_id, k.bucket_hour::date as day, k.service_id, k.priority_class, k.channel,
       k.counter_id, sum(k.tickets)::bigint as tickets, sum(k.served)::bigint as served,
       sum(k.no_shows)::bigint as no_shows, sum(k.cancelled)::bigint as cancelled,
       sum(k.transferred)::bigint as transferred, sum(k.waited)::bigint as waited,
       sum(k.wait_seconds_sum) as wait_seconds_sum, sum(k.sla_met)::bigint as sla_met,
       sum(k.service_timed)::bigint as service_timed, sum(k.service_seconds_sum) as service_seconds_sum
from analytics.hourly_kpis k
group by k.tenant_id, k.branch_id, k.bucket_hour::date, k.service_id, k.priority_class, k.channel, k.counter_id;
comment on view analytics.daily_kpis is 'analytics.hourly_kpis summed per day of branch time.';

create or replace view analytics.tickets with (security_invoker = true) as
select f.tenant_id, f.ticket_id, f.ticket_number, f.branch_id, f.service_id, f.counter_id, f.priority_class,
       f.channel, f.timezone, f.bucket_hour, f.status, qms.analytics_outcome(f) as outcome, f.transferred,
       f.created_at, f.first_called_at, f.served_at, f.completed_at, f.ended_at,
       qms.analytics_wait_seconds(f) as wait_seconds, qms.analytics_service_seconds(f) as service_seconds,
       f.sla_seconds, qms.analytics_sla_met(f) as sla_met, f.last_seq
from analytics.ticket_facts f;
comment on view analytics.tickets is 'One row per ticket with its metrics (wait, service time, outcome, SLA); no PII.';

-- service_kpis: analytics.service_rollups plus the unfolded deltas mapped to both grains and to the '*' (all)
-- members of priority class and channel (qms.analytics_rollup_members), per key, with the
-- wait histogram of both (docs/adr/0019-kpi-rollups-with-wait-histograms.md); keys whose sums are all zero
-- left out. worker.analytics_check compares it with the recomputation.
create or replace view analytics.service_kpis with (security_invoker = true) as
select u.tenant_id, u.branch_id, u.grain, u.bucket, u.service_id, u.priority_class, u.channel,
       sum(u.tickets)::integer as tickets, sum(u.served)::integer as served, sum(u.no_shows)::integer as no_shows,
       sum(u.cancelled)::integer as cancelled, sum(u.transferred)::integer as transferred,
       sum(u.waited)::integer as waited, sum(u.wait_seconds_sum) as wait_seconds_sum,
       sum(u.sla_met)::integer as sla_met, sum(u.service_timed)::integer as service_timed,
       sum(u.service_seconds_sum) as service_seconds_sum,
       qms.analytics_hist_from(array_agg(u.wait_bucket), array_agg(u.wait_count)) as wait_hist
from (select r.tenant_id, r.branch_id, r.grain, r.bucket, r.service_id, r.priority_class, r.channel, r.tickets,
             r.served, r.no_shows, r.cancelled, r.transferred, r.waited, r.wait_seconds_sum, r.sla_met,
             r.service_timed, r.service_seconds_sum, null::integer as wait_bucket, 0::bigint as wait_count
      from analytics.service_rollups r
      union all
      select r.tenant_id, r.branch_id, r.grain, r.bucket, r.service_id, r.priority_class, r.channel, 0, 0, 0, 0, 0,
             0, 0, 0, 0, 0, h.key::integer, h.value::bigint
      from analytics.service_rollups r cross join lateral jsonb_each_text(r.wait_hist) h
      union all
      select d.tenant_id, d.branch_id, g.grain, qms.analytics_grain_bucket(g.grain, d.bucket_hour), d.service_id,
             m.priority_class, m.channel, d.tickets, d.served, d.no_shows, d.cancelled, d.transferred, d.waited,
             d.wait_seconds_sum, d.sla_met, d.service_timed, d.service_seconds_sum, d.wait_bucket, d.waited
      from analytics.hourly_rollup_deltas d cross join (values ('hour'), ('day')) g(grain)
      cross join lateral qms.analytics_rollup_members(d.priority_class, d.channel) m) u
group by u.tenant_id, u.branch_id, u.grain, u.bucket, u.service_id, u.priority_class, u.channel
having sum(u.tickets) <> 0 or sum(u.served) <> 0 or sum(u.no_shows) <> 0 or sum(u.cancelled) <> 0
    or sum(u.transferred) <> 0 or sum(u.waited) <> 0 or sum(u.wait_seconds_sum) <> 0 or sum(u.sla_met) <> 0
    or sum(u.service_timed) <> 0 or sum(u.service_seconds_sum) <> 0
    or qms.analytics_hist_from(array_agg(u.wait_bucket), array_agg(u.wait_count)) <> '{}';
comment on view analytics.service_kpis is
    'Sums and wait histograms per tenant, branch, grain (hour/day of branch time), bucket, service, priority '
    'class and channel: service rollups plus unfolded deltas.';

grant select on analytics.hourly_kpis, analytics.daily_kpis, analytics.tickets, analytics.service_kpis
    to qms_analyst, qms_supervisor, qms_admin, qms_worker;

create or replace trigger ticket_events_analytics
    after insert on qms.ticket_events
    for each row execute function qms.tg_ticket_events__analytics();

grant execute on function api.kpi(date, date, uuid, uuid, text, text, text) to qms_analyst, qms_supervisor, qms_admin;
grant execute on function api.kpi_tickets(date, date, uuid, uuid, text, text, uuid, integer)
    to qms_analyst, qms_supervisor, qms_admin;
grant execute on function worker.analytics_fold(integer) to qms_worker;
grant execute on function worker.analytics_check(uuid) to qms_worker;
grant execute on function worker.analytics_rebuild(uuid) to qms_worker;
grant execute on function worker.analytics_snapshot_watermark() to qms_worker;
grant execute on function worker.analytics_tenants() to qms_worker;
grant execute on function worker.analytics_snapshot_tickets(uuid, bigint, bigint) to qms_worker;
grant execute on function worker.analytics_snapshot_hours(uuid, uuid[], timestamp[]) to qms_worker;
grant execute on function worker.analytics_snapshot_dimensions(uuid) to qms_worker;
