-- api.get_ticket(ticket_id): one ticket as staff and devices see it: the ticket object of every engine
-- command (qms.ticket_json), with position and estimated_wait_seconds while it waits.
-- Who: agents, supervisors and admins of the ticket's branch, devices of that branch (RLS on qms.tickets).
-- Errors: PT401 TENANT_REQUIRED, PT404 TICKET_NOT_FOUND (unknown, another tenant, or outside the caller's
--   branches). Stable, no locks; one primary-key read.
create or replace function api.get_ticket(ticket_id uuid) returns jsonb
    language plpgsql stable
    security invoker
as $$
#variable_conflict use_column
declare
    v_ticket qms.tickets;
begin
    select * into v_ticket from qms.tickets t
    where t.tenant_id = qms.require_tenant() and t.ticket_id = get_ticket.ticket_id;
    if not found then
        perform qms.fail(404, 'TICKET_NOT_FOUND', 'ticket not found', 'Check the ticket id.');
    end if;
    return qms.ticket_json(v_ticket);
end
$$;
comment on function api.get_ticket(uuid) is
    'One ticket (with position and estimated_wait_seconds while waiting). PT404 TICKET_NOT_FOUND.';
