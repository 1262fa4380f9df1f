-- The ticket object returned by every engine command (docs/engine.md).
--
-- qms.queue_estimate(t): {position, estimated_wait_seconds} of a waiting ticket. position is 1-based among
--   the service's waiting tickets in call order (priority rank, then queued_at); estimated_wait_seconds =
--   (position - 1) * average handle time of the service's last 20 done tickets
--   (completed_at - coalesce(served_at, called_at); 300 s without history) / number of available counters
--   mapped to the service (at least 1). Both null for other states. Security definer so the count is an
--   index-only scan without per-row RLS checks; it answers only for the caller's own tenant (claims) and
--   reveals counts, never rows. Stable, no errors, no locks. The count itself is qms.queue_estimate_of,
--   which the public reader (qms.public_ticket_view, tenant-less) uses too.
-- qms.ticket_json(t, p_with_position): the ticket's columns (no secrets, no hash bytes) plus the estimate.
create or replace function qms.queue_estimate_of(p_ticket qms.tickets) returns jsonb
    language plpgsql stable
as $$
declare
    v_position integer;
    v_handle numeric;
    v_counters integer;
begin
    if p_ticket.status is distinct from 'waiting' then
        return jsonb_build_object('position', null, 'estimated_wait_seconds', null);
    end if;
    select count(*) + 1 into v_position
    from qms.tickets w
    where w.tenant_id = p_ticket.tenant_id and w.service_id = p_ticket.service_id and w.status = 'waiting'
      and (w.priority_rank, w.queued_at) < (p_ticket.priority_rank, p_ticket.queued_at);
    select avg(extract(epoch from d.completed_at - coalesce(d.served_at, d.called_at))) into v_handle
    from (select x.completed_at, x.served_at, x.called_at from qms.tickets x
          where x.tenant_id = p_ticket.tenant_id and x.service_id = p_ticket.service_id and x.status = 'done'
          order by x.completed_at desc limit 20) d;
    select count(*) into v_counters
    from qms.counter_services cs
    join qms.counters c on c.tenant_id = cs.tenant_id and c.counter_id = cs.counter_id
    where cs.tenant_id = p_ticket.tenant_id and cs.service_id = p_ticket.service_id
      and c.status = 'available' and c.is_active;
    return jsonb_build_object(
        'position', v_position,
        'estimated_wait_seconds',
        round((v_position - 1) * coalesce(v_handle, 300) / greatest(v_counters, 1))::integer);
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
