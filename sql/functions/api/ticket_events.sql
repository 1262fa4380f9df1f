-- api.ticket_events(ticket_id): the event log of one ticket, oldest first:
--   [{seq, ticket_seq, type, payload, actor, created_at, hash (hex), prev_hash (hex)}].
-- Transition: none (read). Errors: PT401 TENANT_REQUIRED, PT403 FORBIDDEN (not agent/supervisor/admin),
--   PT404 TICKET_NOT_FOUND (unknown, other tenant or outside the caller's branches: RLS hides it).
-- Idempotent, stable, no locks. Security invoker: RLS applies.
create or replace function api.ticket_events(ticket_id uuid) returns jsonb
    language plpgsql stable
    security invoker
as $$
declare
    v_tenant uuid;
    v_events jsonb;
begin
    perform qms.require_role('qms_agent', 'qms_supervisor', 'qms_admin');
    v_tenant := qms.require_tenant();
    if not exists (select 1 from qms.tickets t
                   where t.tenant_id = v_tenant and t.ticket_id = ticket_events.ticket_id) then
        perform qms.fail(404, 'TICKET_NOT_FOUND', 'ticket not found', 'Check the ticket id and your branch scope.');
    end if;
    select coalesce(jsonb_agg(jsonb_build_object(
               'seq', e.seq, 'ticket_seq', e.ticket_seq, 'type', e.type, 'payload', e.payload,
               'actor', e.actor, 'created_at', e.created_at, 'request_id', e.request_id,
               'hash', encode(e.hash, 'hex'), 'prev_hash', encode(e.prev_hash, 'hex'))
               order by e.ticket_seq), '[]'::jsonb)
      into v_events
      from qms.ticket_events e
     where e.tenant_id = v_tenant and e.ticket_id = ticket_events.ticket_id;
    return v_events;
end
$$;
comment on function api.ticket_events(uuid) is
    'Event log of a ticket in ticket_seq order (hashes as hex). PT404 TICKET_NOT_FOUND, PT403 FORBIDDEN.';
