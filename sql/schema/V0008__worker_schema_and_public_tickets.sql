-- Platform work leaves the public contract (docs/adr/0006-worker-schema.md): the event relay, the no-show
-- sweeper and retention move from `api` to `worker`, a schema only qms_worker may use and the gateway never
-- exposes. Their bodies are re-applied from sql/functions/worker/.
create schema if not exists worker;
drop function if exists api.relay_events(bigint, integer);
drop function if exists api.relay_position(text);
drop function if exists api.relay_ack(text, bigint);
drop function if exists api.sweep_no_shows(integer);
drop function if exists api.purge_idempotency_keys(interval);

-- The one event writer (qms.advance_ticket) replaces both former writers.
drop function if exists qms.append_ticket_event(qms.tickets, text, jsonb, jsonb, uuid);
drop function if exists qms.write_ticket_event(qms.tickets, bytea, text, jsonb, uuid);
drop function if exists qms.ticket_event_advance(uuid, uuid, integer, bytea);

-- The customer's status page reads a ticket by its id and secret, without a tenant
-- (docs/adr/0007-public-ticket-access.md): the id alone must find the row.
create index tickets_ticket_id_idx on qms.tickets (ticket_id);
