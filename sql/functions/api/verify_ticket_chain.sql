-- api.verify_ticket_chain(ticket_id) -> {"ticket_id", "ok": bool, "broken_at": ticket_seq|null,
--   "event_count": n}: recomputes the ticket's hash chain (qms.ticket_chain_break: hash, link, gaps and the
--   ticket row's event_count / last_event_hash).
-- Transition: none (read). Errors: PT401 TENANT_REQUIRED, PT403 FORBIDDEN, PT404 TICKET_NOT_FOUND.
-- Idempotent, stable, no locks. Security invoker: RLS applies. A whole tenant: qms.verify_ticket_chains.
create or replace function api.verify_ticket_chain(ticket_id uuid) returns jsonb
    language plpgsql stable
    security invoker
as $$
declare
    v_tenant uuid;
    v_break integer;
begin
    perform qms.require_role('qms_agent', 'qms_supervisor', 'qms_admin');
    v_tenant := qms.require_tenant();
    if not exists (select 1 from qms.tickets t
                   where t.tenant_id = v_tenant and t.ticket_id = verify_ticket_chain.ticket_id) then
        perform qms.fail(404, 'TICKET_NOT_FOUND', 'ticket not found', 'Check the ticket id and your branch scope.');
    end if;
    v_break := qms.ticket_chain_break(v_tenant, verify_ticket_chain.ticket_id);
    return jsonb_build_object(
        'ticket_id', verify_ticket_chain.ticket_id, 'ok', v_break is null, 'broken_at', v_break,
        'event_count', (select count(*) from qms.ticket_events e
                        where e.tenant_id = v_tenant and e.ticket_id = verify_ticket_chain.ticket_id));
end
$$;
comment on function api.verify_ticket_chain(uuid) is
    'Verify a ticket''s event hash chain: {ok, broken_at}. PT404 TICKET_NOT_FOUND.';
