-- api.rehydrate_ticket(ticket_id): the ticket rebuilt from its event log alone (qms.fold_ticket_events:
--   payload->'changes' merged in ticket_seq order), plus event_count and last_event_hash (hex) of the log.
--   Equal to the ticket row for every event column (qms.ticket_event_columns()) when the log is complete.
-- Transition: none (read). Errors: PT401 TENANT_REQUIRED, PT403 FORBIDDEN, PT404 TICKET_NOT_FOUND.
-- Idempotent, stable, no locks. Security invoker: RLS applies.
create or replace function api.rehydrate_ticket(ticket_id uuid) returns jsonb
    language plpgsql stable
    security invoker
as $$
declare
    v_tenant uuid;
    v_folded jsonb;
begin
    perform qms.require_role('qms_agent', 'qms_supervisor', 'qms_admin');
    v_tenant := qms.require_tenant();
    if not exists (select 1 from qms.tickets t
                   where t.tenant_id = v_tenant and t.ticket_id = rehydrate_ticket.ticket_id) then
        perform qms.fail(404, 'TICKET_NOT_FOUND', 'ticket not found', 'Check the ticket id and your branch scope.');
    end if;
    v_folded := qms.fold_ticket_events(v_tenant, rehydrate_ticket.ticket_id);
    return coalesce(v_folded, jsonb_build_object('ticket_id', rehydrate_ticket.ticket_id, 'tenant_id', v_tenant))
        || (select jsonb_build_object('event_count', count(*),
                                      'last_event_hash', encode((array_agg(e.hash order by e.ticket_seq desc))[1], 'hex'))
            from qms.ticket_events e
            where e.tenant_id = v_tenant and e.ticket_id = rehydrate_ticket.ticket_id);
end
$$;
comment on function api.rehydrate_ticket(uuid) is
    'A ticket folded from its events (payload->''changes'' in ticket_seq order). PT404 TICKET_NOT_FOUND.';
