-- Read side and event delivery of the queue engine (docs/adr/0005-event-delivery.md): who may call the
-- event functions, the infrastructure tables of the relay, and the writer-xid trigger of the event log.

-- Writers take their xid before drawing a seq (the watermark rule, sql/functions/qms/event_watermark.sql).
create or replace trigger ticket_events_assign_xid
    before insert on qms.ticket_events
    for each statement execute function qms.tg_ticket_events__assign_xid();

-- qms.event_horizon: written and read only by security definer functions (owner). The policy lets the
-- owner through when it is not a superuser (RLS is forced); request roles have no privilege on the table.
alter table qms.event_horizon enable row level security;
alter table qms.event_horizon force row level security;
drop policy if exists event_horizon_all_owner on qms.event_horizon;
create policy event_horizon_all_owner on qms.event_horizon for all using (true) with check (true);
revoke all on qms.event_horizon from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker,
    qms_analyst;

-- qms.relay_state: the relay's position; only workers (and the owner) touch it.
alter table qms.relay_state enable row level security;
alter table qms.relay_state force row level security;
drop policy if exists relay_state_all_worker on qms.relay_state;
create policy relay_state_all_worker on qms.relay_state for all to qms_worker using (true) with check (true);
revoke all on qms.relay_state from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker,
    qms_analyst;
grant select, insert, update on qms.relay_state to qms_worker;

-- Reads of the event log and the live queue: staff.
revoke all on function api.ticket_events(uuid) from public;
grant execute on function api.ticket_events(uuid) to qms_agent, qms_supervisor, qms_admin;
revoke all on function api.rehydrate_ticket(uuid) from public;
grant execute on function api.rehydrate_ticket(uuid) to qms_agent, qms_supervisor, qms_admin;
revoke all on function api.verify_ticket_chain(uuid) from public;
grant execute on function api.verify_ticket_chain(uuid) to qms_agent, qms_supervisor, qms_admin;
revoke all on function api.queue_snapshot(uuid, uuid) from public;
grant execute on function api.queue_snapshot(uuid, uuid) to qms_agent, qms_supervisor, qms_admin;

-- The display board: devices too.
revoke all on function api.display_snapshot(uuid, uuid, integer) from public;
grant execute on function api.display_snapshot(uuid, uuid, integer)
    to qms_device, qms_agent, qms_supervisor, qms_admin;

-- The supervisor's live floor.
revoke all on function api.floor_snapshot(uuid) from public;
grant execute on function api.floor_snapshot(uuid) to qms_supervisor, qms_admin;
