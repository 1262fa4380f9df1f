-- worker.analytics_rebuild(tenant_id): replace a tenant's analytics (facts, hourly and service rollups, pending
--   deltas) by the recomputation from the raw tickets (qms.analytics_recompute_facts; service rollups by
--   qms.analytics_service_rollups_from_facts): the backfill for tickets issued before analytics existed,
--   and the repair after a branch changed its time zone. Returns the number of tickets.
--   Errors: PT403 FORBIDDEN (not qms_worker), PT400 TENANT_REQUIRED_ARG.
-- Locking: share row exclusive on qms.ticket_events (qms.analytics_freeze_events) for the transaction (no event of any tenant is written
--   meanwhile, so nothing is missed or counted twice); run it off-peak. Idempotent.
create or replace function worker.analytics_rebuild(tenant_id uuid) returns integer
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_count integer;
begin
    perform qms.require_role('qms_worker');
    if analytics_rebuild.tenant_id is null then
        perform qms.fail(400, 'TENANT_REQUIRED_ARG', 'tenant_id is required', 'Pass the tenant to rebuild.');
    end if;
    perform qms.analytics_freeze_events();
    delete from analytics.hourly_rollup_deltas d where d.tenant_id = analytics_rebuild.tenant_id;
    delete from analytics.hourly_rollups r where r.tenant_id = analytics_rebuild.tenant_id;
    delete from analytics.service_rollups r where r.tenant_id = analytics_rebuild.tenant_id;
    delete from analytics.ticket_facts f where f.tenant_id = analytics_rebuild.tenant_id;
    insert into analytics.ticket_facts select * from qms.analytics_recompute_facts(analytics_rebuild.tenant_id);
    get diagnostics v_count = row_count;
    insert into analytics.hourly_rollups (tenant_id, branch_id, bucket_hour, service_id, priority_class, channel,
        counter_id, tickets, served, no_shows, cancelled, transferred, waited, wait_seconds_sum, sla_met,
        service_timed, service_seconds_sum)
    select d.tenant_id, d.branch_id, d.bucket_hour, d.service_id, d.priority_class, d.channel, d.counter_id,
           sum(d.tickets), sum(d.served), sum(d.no_shows), sum(d.cancelled), sum(d.transferred), sum(d.waited),
           sum(d.wait_seconds_sum), sum(d.sla_met), sum(d.service_timed), sum(d.service_seconds_sum)
    from analytics.ticket_facts f cross join lateral qms.analytics_delta(f, 1) d
    where f.tenant_id = analytics_rebuild.tenant_id
    group by d.tenant_id, d.branch_id, d.bucket_hour, d.service_id, d.priority_class, d.channel, d.counter_id;
    insert into analytics.service_rollups
    select * from qms.analytics_service_rollups_from_facts(analytics_rebuild.tenant_id, false);
    return v_count;
end
$$;
comment on function worker.analytics_rebuild(uuid) is
    'Replace a tenant''s analytics by the recomputation from raw tickets; returns the ticket count. '
    'PT403 FORBIDDEN, PT400 TENANT_REQUIRED_ARG.';
