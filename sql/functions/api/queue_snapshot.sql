-- api.queue_snapshot(branch_id, service_id default null): the live queue of a branch for staff.
--   {as_of_seq, branch_id, generated_at,
--    services: [{service_id, name, prefix, sla_minutes, waiting_count, held_count, called_count, serving_count,
--                waiting: [{ticket_id, ticket_number, priority_class, position, estimated_wait_seconds,
--                           created_at, queued_at, returned}],  -- call order: priority rank, then queued_at
--                held: [{ticket_id, ticket_number, priority_class, created_at}]}],  -- oldest first
--   estimated_wait_seconds as in api.get_ticket (qms.eta_seconds of the position, on the service's pace read
--   once per service: qms.service_pace), so the list costs one pass over the waiting tickets.
--    counters: [{counter_id, name, area_id, status, service_ids,
--                ticket: {ticket_id, ticket_number, service_id, status, called_at, served_at} | null}]}
--   With service_id: that service only, and the counters mapped to it. No contact data (PII-free).
--   as_of_seq (qms.event_watermark): every event with seq <= as_of_seq is reflected in this state; apply
--   streamed events with seq > as_of_seq (events carry new values, so re-applying one is harmless).
-- Transition: none (read). Errors: PT401 TENANT_REQUIRED, PT403 FORBIDDEN (agent, supervisor, admin only),
--   PT404 BRANCH_NOT_FOUND (unknown, other tenant or outside branch_ids), PT404 SERVICE_NOT_FOUND (not a
--   service of that branch). Idempotent, stable (one snapshot), no locks. Security invoker: RLS applies.
create or replace function api.queue_snapshot(branch_id uuid, service_id uuid default null) returns jsonb
    language plpgsql stable
    security invoker
as $$
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_agent', 'qms_supervisor', 'qms_admin');
    v_tenant := qms.require_tenant();
    if not exists (select 1 from qms.branches b
                   where b.tenant_id = v_tenant and b.branch_id = queue_snapshot.branch_id) then
        perform qms.fail(404, 'BRANCH_NOT_FOUND', 'branch not found', 'Pick a branch of your tenant and scope.');
    end if;
    if queue_snapshot.service_id is not null
       and not exists (select 1 from qms.services s
                       where s.tenant_id = v_tenant and s.service_id = queue_snapshot.service_id
                         and s.branch_id = queue_snapshot.branch_id) then
        perform qms.fail(404, 'SERVICE_NOT_FOUND', 'service not found in this branch', 'Pick a service of the branch.');
    end if;
    return jsonb_build_object(
        'as_of_seq', qms.event_watermark(),
        'branch_id', queue_snapshot.branch_id,
        'generated_at', now(),
        'services', (
            select coalesce(jsonb_agg(jsonb_build_object(
                       'service_id', s.service_id, 'name', s.name, 'prefix', s.prefix, 'sla_minutes', s.sla_minutes,
                       'waiting_count', coalesce(jsonb_array_length(w.waiting), 0),
                       'held_count', c.held, 'called_count', c.called, 'serving_count', c.serving,
                       'waiting', coalesce(w.waiting, '[]'::jsonb),
                       'held', coalesce(h.held, '[]'::jsonb)) order by s.name), '[]'::jsonb)
            from qms.services s
            cross join lateral qms.service_pace(v_tenant, s.service_id) p
            cross join lateral (
                select jsonb_agg(jsonb_build_object(
                           'ticket_id', q.ticket_id, 'ticket_number', q.ticket_number,
                           'priority_class', q.priority_class, 'position', q.position,
                           'estimated_wait_seconds', qms.eta_seconds(q.position::integer, p.handle_seconds, p.counters),
                           'created_at', q.created_at, 'queued_at', q.queued_at, 'returned', q.returned)
                           order by q.position) as waiting
                from (select t.*, row_number() over (order by t.priority_rank, t.queued_at, t.ticket_id) as position
                      from qms.tickets t
                      where t.tenant_id = v_tenant and t.service_id = s.service_id and t.status = 'waiting') q
            ) w
            cross join lateral (
                select jsonb_agg(jsonb_build_object(
                           'ticket_id', t.ticket_id, 'ticket_number', t.ticket_number,
                           'priority_class', t.priority_class, 'created_at', t.created_at)
                           order by t.created_at, t.ticket_id) as held
                from qms.tickets t
                where t.tenant_id = v_tenant and t.service_id = s.service_id and t.status = 'held'
            ) h
            cross join lateral (
                select count(*) filter (where t.status = 'held') as held,
                       count(*) filter (where t.status = 'called') as called,
                       count(*) filter (where t.status = 'serving') as serving
                from qms.tickets t
                where t.tenant_id = v_tenant and t.service_id = s.service_id
                  and t.status in ('held', 'called', 'serving')
            ) c
            where s.tenant_id = v_tenant and s.branch_id = queue_snapshot.branch_id and s.is_active
              and (queue_snapshot.service_id is null or s.service_id = queue_snapshot.service_id)),
        'counters', (
            select coalesce(jsonb_agg(jsonb_build_object(
                       'counter_id', c.counter_id, 'name', c.name, 'area_id', c.area_id, 'status', c.status,
                       'service_ids', (select coalesce(jsonb_agg(cs.service_id order by cs.service_id), '[]'::jsonb)
                                       from qms.counter_services cs
                                       where cs.tenant_id = v_tenant and cs.counter_id = c.counter_id),
                       'ticket', (select jsonb_build_object(
                                             'ticket_id', t.ticket_id, 'ticket_number', t.ticket_number,
                                             'service_id', t.service_id, 'status', t.status,
                                             'called_at', t.called_at, 'served_at', t.served_at)
                                  from qms.tickets t
                                  where t.tenant_id = v_tenant and t.counter_id = c.counter_id
                                    and t.status in ('called', 'serving')
                                  limit 1)) order by c.name), '[]'::jsonb)
            from qms.counters c
            where c.tenant_id = v_tenant and c.branch_id = queue_snapshot.branch_id and c.is_active
              and (queue_snapshot.service_id is null
                   or exists (select 1 from qms.counter_services cs
                              where cs.tenant_id = v_tenant and cs.counter_id = c.counter_id
                                and cs.service_id = queue_snapshot.service_id))));
end
$$;
comment on function api.queue_snapshot(uuid, uuid) is
    'Live queue of a branch (services with waiting tickets in call order, counters with their active ticket) '
    'and as_of_seq. PT404 BRANCH_NOT_FOUND/SERVICE_NOT_FOUND, PT403 FORBIDDEN.';
