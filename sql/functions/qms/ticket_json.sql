-- The ticket object returned by every engine command (docs/engine.md).
--
-- qms.service_pace(tenant, service) -> (handle_seconds, counters): the basis of estimated waits, from the
--   service's recent work, never from the queue length. handle_seconds = average handle time
--   (completed_at - coalesce(served_at, called_at)) of its last 20 done tickets, null without history.
--   counters = the counters actually serving it: distinct counters that completed one of those tickets in
--   the last hour and are available now; when there are none (a quiet hour, a new service), the available
--   counters mapped to the service; at least 1. Stable, no errors, no locks; runs as the caller.
-- qms.eta_seconds(position, handle_seconds, counters): (position - 1) * handle_seconds (300 s without
--   history) / counters, rounded: the tickets ahead shared among the serving counters. Immutable.
-- qms.queue_estimate(t): {position, estimated_wait_seconds} of a waiting ticket. position is 1-based among
--   the service's waiting tickets in call order (priority rank, then queued_at), exact, from
--   qms.queue_ahead (bucket counts, not a count of the queue: docs/adr/0021-flat-queue-position.md);
--   estimated_wait_seconds from qms.service_pace and qms.eta_seconds. Both null for other states. Security
--   definer so the counts read the position tables and the tickets without per-row RLS checks; it answers
--   only for the caller's own tenant (claims) and reveals counts, never rows. Stable, no errors, no locks.
--   The estimate itself is qms.queue_estimate_of, which the public reader (qms.public_ticket_view,
--   tenant-less) uses too.
-- qms.ticket_json(t, p_with_position): the ticket's columns (no secrets, no hash bytes) plus the estimate.
create or replace function qms.service_pace(p_tenant_id uuid, p_service_id uuid,
                                            out handle_seconds numeric, out counters integer)
    language plpgsql stable
as $$
-- PL/pgSQL so the statement's plan is cached per session.
begin
    with recent as (
        select x.completed_at, x.served_at, x.called_at, x.counter_id from qms.tickets x
        where x.tenant_id = p_tenant_id and x.service_id = p_service_id and x.status = 'done'
        order by x.completed_at desc limit 20)
    select (select avg(extract(epoch from r.completed_at - coalesce(r.served_at, r.called_at))) from recent r),
           greatest(coalesce(
               nullif((select count(distinct r.counter_id)::integer
                       from recent r
                       join qms.counters c on c.tenant_id = p_tenant_id and c.counter_id = r.counter_id
                       where r.completed_at > now() - interval '1 hour' and c.status = 'available' and c.is_active),
                      0),
               (select count(*)::integer
                from qms.counter_services cs
                join qms.counters c on c.tenant_id = cs.tenant_id and c.counter_id = cs.counter_id
                where cs.tenant_id = p_tenant_id and cs.service_id = p_service_id
                  and c.status = 'available' and c.is_active)), 1)
    into handle_seconds, counters;
end
$$;
comment on function qms.service_pace(uuid, uuid) is
    'Basis of estimated waits of a service: average recent handle time and the counters actually serving it.';
revoke all on function qms.service_pace(uuid, uuid) from public;
grant execute on function qms.service_pace(uuid, uuid) to qms_agent, qms_supervisor, qms_admin;

create or replace function qms.eta_seconds(p_position integer, p_handle_seconds numeric, p_counters integer)
    returns integer
    language sql immutable
as $$
    select round((p_position - 1) * coalesce(p_handle_seconds, 300) / greatest(p_counters, 1))::integer
$$;
comment on function qms.eta_seconds(integer, numeric, integer) is
    'Estimated wait of a queue position: the tickets ahead times the handle time, shared among the counters.';

create or replace function qms.queue_estimate_of(p_ticket qms.tickets) returns jsonb
    language plpgsql stable
as $$
declare
    v_position integer;
    v_pace record;
begin
    if p_ticket.status is distinct from 'waiting' then
        return jsonb_build_object('position', null, 'estimated_wait_seconds', null);
    end if;
    v_position := qms.queue_ahead(p_ticket.tenant_id, p_ticket.service_id, p_ticket.priority_rank,
                                  p_ticket.queued_at) + 1;
    select p.handle_seconds, p.counters into v_pace from qms.service_pace(p_ticket.tenant_id, p_ticket.service_id) p;
    return jsonb_build_object(
        'position', v_position,
        'estimated_wait_seconds', qms.eta_seconds(v_position, v_pace.handle_seconds, v_pace.counters));
end
$$;
comment on function qms.queue_estimate_of(qms.tickets) is
    'Position and estimated_wait_seconds of a waiting ticket, counted as the current user (owner only: '
    'called by the security definer readers qms.queue_estimate and qms.public_ticket_view).';
revoke all on function qms.queue_estimate_of(qms.tickets) from public;

create or replace function qms.queue_estimate(p_ticket qms.tickets) returns jsonb
    language plpgsql stable
    security definer
    set search_path = ''
as $$
begin
    if p_ticket.tenant_id is distinct from qms.current_tenant_id() then
        return '{"position": null, "estimated_wait_seconds": null}'::jsonb;
    end if;
    return qms.queue_estimate_of(p_ticket);
end
$$;
comment on function qms.queue_estimate(qms.tickets) is
    'Position (1-based, call order) and estimated_wait_seconds of a waiting ticket of the caller''s tenant.';
revoke all on function qms.queue_estimate(qms.tickets) from public;
grant execute on function qms.queue_estimate(qms.tickets)
    to qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker;

create or replace function qms.ticket_json(p_ticket qms.tickets, p_with_position boolean default true)
    returns jsonb
    language sql stable
as $$
    select case when p_ticket.ticket_id is not null then
        (to_jsonb(p_ticket) - 'access_secret_hash' - 'last_event_hash' - 'priority_rank')
        || case when p_with_position and p_ticket.status = 'waiting' then qms.queue_estimate(p_ticket)
                else '{"position": null, "estimated_wait_seconds": null}'::jsonb end
    end
$$;
comment on function qms.ticket_json(qms.tickets, boolean) is
    'Ticket as returned by the api (ticket_id, ticket_number, status, ... plus position and '
    'estimated_wait_seconds for waiting tickets).';
