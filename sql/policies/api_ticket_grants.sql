-- Who may run the queue engine's commands (docs/engine.md). RLS does the tenant and branch scoping.
revoke all on function api.create_ticket(uuid, text, text, uuid, jsonb, text) from public;
grant execute on function api.create_ticket(uuid, text, text, uuid, jsonb, text)
    to qms_device, qms_agent, qms_supervisor, qms_admin;

revoke all on function api.call_next(uuid, uuid) from public;
grant execute on function api.call_next(uuid, uuid) to qms_agent, qms_supervisor, qms_admin;

revoke all on function api.ticket_action(uuid, text, uuid, uuid, uuid, uuid, text) from public;
grant execute on function api.ticket_action(uuid, text, uuid, uuid, uuid, uuid, text)
    to qms_agent, qms_supervisor, qms_admin;

revoke all on function api.set_counter_status(uuid, text, uuid) from public;
grant execute on function api.set_counter_status(uuid, text, uuid) to qms_agent, qms_supervisor, qms_admin;

-- Reads of one ticket: staff and devices of its branch (RLS), and the customer through the ticket's secret.
revoke all on function api.get_ticket(uuid) from public;
grant execute on function api.get_ticket(uuid) to qms_device, qms_agent, qms_supervisor, qms_admin;
revoke all on function api.get_public_ticket(uuid, text) from public;
grant execute on function api.get_public_ticket(uuid, text)
    to qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_analyst;
revoke all on function api.cancel_public_ticket(uuid, text, uuid) from public;
grant execute on function api.cancel_public_ticket(uuid, text, uuid) to qms_anon;

-- Joining from the web with a branch's join code: the anonymous customer.
revoke all on function api.get_public_branch(text) from public;
grant execute on function api.get_public_branch(text) to qms_anon;
revoke all on function api.join_queue(text, uuid, jsonb, uuid) from public;
grant execute on function api.join_queue(text, uuid, jsonb, uuid) to qms_anon;

-- Web Push from the status page: the anonymous customer, through the ticket's secret.
revoke all on function api.get_public_push_config(uuid, text) from public;
grant execute on function api.get_public_push_config(uuid, text) to qms_anon;
revoke all on function api.subscribe_public_push(uuid, text, jsonb, text) from public;
grant execute on function api.subscribe_public_push(uuid, text, jsonb, text) to qms_anon;
revoke all on function api.unsubscribe_public_push(uuid, text, text) from public;
grant execute on function api.unsubscribe_public_push(uuid, text, text) to qms_anon;
