-- api.floor_snapshot(branch_id): the supervisor's live floor (US-AGENT-008, US-ANALYT-003).
--   {as_of_seq, branch_id, generated_at,
--    services: [{service_id, name, prefix, sla_minutes, waiting_count, held_count, longest_wait_seconds,
--                avg_wait_seconds_last_hour, called_last_hour, sla_breaches_waiting, sla_breaches_last_hour}],
--    counters: [{counter_id, name, area_id, status, is_active, service_ids,
--                ticket: {ticket_id, ticket_number, service_id, status, since, seconds} | null,
--                agent: {sub, display_name} | null}]}
--   Waits are called_at - created_at (the first call); "last hour" = tickets called in the last hour.
--   A waiting ticket breaches its SLA once it has waited longer than the service's sla_minutes; a called
--   one when its wait was longer. The agent is whoever called the counter's current ticket (the actor of
--   its last ticket.called event). as_of_seq as in api.queue_snapshot: apply streamed events after it.
-- Transition: none (read). Errors: PT401 TENANT_REQUIRED, PT403 FORBIDDEN (supervisor, admin only),
--   PT404 BRANCH_NOT_FOUND (unknown or outside the caller's branches). Stable, no locks. Security invoker.
create or replace function api.floor_snapshot(branch_id uuid) returns jsonb
    language plpgsql stable
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_supervisor', 'qms_admin');
    v_tenant := qms.require_tenant();
    if not exists (select 1 from qms.branches b where b.tenant_id = v_tenant and b.branch_id = floor_snapshot.branch_id) then
        perform qms.fail(404, 'BRANCH_NOT_FOUND', 'branch not found', 'Pick a branch of your tenant and scope.');
    end if;
    return jsonb_build_object(
        'as_of_seq', qms.event_watermark(), 'branch_id', floor_snapshot.branch_id, 'generated_at', now(),
        'services', (
            select coalesce(jsonb_agg(jsonb_build_object(
                       'service_id', s.service_id, 'name', s.name, 'prefix', s.prefix, 'sla_minutes', s.sla_minutes,
                       'waiting_count', w.waiting, 'held_count', w.held,
                       'longest_wait_seconds', round(extract(epoch from now() - w.oldest))::integer,
                       'sla_breaches_waiting', w.breaching,
                       'avg_wait_seconds_last_hour', round(h.avg_wait)::integer, 'called_last_hour', h.called,
                       'sla_breaches_last_hour', h.breached) order by s.name), '[]'::jsonb)
            from qms.services s
            cross join lateral (
                select count(*) filter (where t.status = 'waiting') as waiting,
                       count(*) filter (where t.status = 'held') as held,
                       min(t.created_at) filter (where t.status = 'waiting') as oldest,
                       count(*) filter (where t.status = 'waiting'
                                          and t.created_at < now() - make_interval(mins => s.sla_minutes)) as breaching
                from qms.tickets t
                where t.tenant_id = v_tenant and t.service_id = s.service_id and t.status in ('waiting', 'held')) w
            cross join lateral (
                select avg(extract(epoch from t.called_at - t.created_at)) as avg_wait, count(*) as called,
                       count(*) filter (where t.called_at - t.created_at > make_interval(mins => s.sla_minutes)) as breached
                from qms.tickets t
                where t.tenant_id = v_tenant and t.branch_id = floor_snapshot.branch_id
                  and t.service_id = s.service_id and t.called_at >= now() - interval '1 hour') h
            where s.tenant_id = v_tenant and s.branch_id = floor_snapshot.branch_id and s.is_active),
        'counters', (
            select coalesce(jsonb_agg(jsonb_build_object(
                       'counter_id', c.counter_id, 'name', c.name, 'area_id', c.area_id, 'status', c.status,
                       'is_active', c.is_active,
                       'service_ids', coalesce((select jsonb_agg(cs.service_id) from qms.counter_services cs
                                                where cs.tenant_id = v_tenant and cs.counter_id = c.counter_id), '[]'),
                       'ticket', case when a.ticket_id is not null then jsonb_build_object(
                           'ticket_id', a.ticket_id, 'ticket_number', a.ticket_number, 'service_id', a.service_id,
                           'status', a.status, 'since', a.since,
                           'seconds', round(extract(epoch from now() - a.since))::integer) end,
                       'agent', case when a.sub is not null then jsonb_build_object(
                           'sub', a.sub, 'display_name', (select u.display_name from qms.users u
                                                         where u.tenant_id = v_tenant and u.user_id::text = a.sub)) end)
                       order by c.name), '[]'::jsonb)
            from qms.counters c
            left join lateral (
                select t.ticket_id, t.ticket_number, t.service_id, t.status,
                       coalesce(t.served_at, t.called_at) as since,
                       (select e.actor ->> 'sub' from qms.ticket_events e
                        where e.tenant_id = v_tenant and e.ticket_id = t.ticket_id and e.type = 'ticket.called'
                        order by e.ticket_seq desc limit 1) as sub
                from qms.tickets t
                where t.tenant_id = v_tenant and t.counter_id = c.counter_id and t.status in ('called', 'serving')) a
                on true
            where c.tenant_id = v_tenant and c.branch_id = floor_snapshot.branch_id));
end
$$;
comment on function api.floor_snapshot(uuid) is
    'The live floor of a branch: per service waiting, longest and average wait, SLA breaches; per counter '
    'status, current ticket and agent. PT403 FORBIDDEN, PT404 BRANCH_NOT_FOUND.';
