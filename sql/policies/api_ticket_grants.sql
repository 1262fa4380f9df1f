-- Who may run the queue engine's commands (docs/engine.md). RLS does the tenant and branch scoping.
revoke all on function api.create_ticket(uuid, text, text, uuid, jsonb) from public;
grant execute on function api.create_ticket(uuid, text, text, uuid, jsonb)
    to qms_device, qms_agent, qms_supervisor, qms_admin;

revoke all on function api.call_next(uuid, uuid) from public;
grant execute on function api.call_next(uuid, uuid) to qms_agent, qms_supervisor, qms_admin;

revoke all on function api.ticket_action(uuid, text, uuid, uuid, uuid, uuid, text) from public;
grant execute on function api.ticket_action(uuid, text, uuid, uuid, uuid, uuid, text)
    to qms_agent, qms_supervisor, qms_admin;

revoke all on function api.set_counter_status(uuid, text, uuid) from public;
grant execute on function api.set_counter_status(uuid, text, uuid) to qms_agent, qms_supervisor, qms_admin;

revoke all on function api.purge_idempotency_keys(interval) from public;
grant execute on function api.purge_idempotency_keys(interval) to qms_worker;
