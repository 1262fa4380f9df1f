-- qms.display_area_id(tenant_id, counter_id, ticket_area_id) -> uuid: the area whose display boards show a
--   ticket: the area of the counter it is at (the counter that called it), else - no counter, or a counter
--   without an area - the ticket's own area (its service's). The ONE rule of "which board shows this call"
--   (docs/runbooks/display.md): api.display_snapshot filters its rows with it (a reload) and
--   worker.relay_events routes live events with it (topic branch:{id}:display:{area}), so a board shows
--   the same calls live and after a reload. A board without an area (display:all) shows the whole branch.
--   Null when neither has an area (only display:all boards show it).
-- Transition: none (read). Errors: none (an unknown or invisible counter counts as no counter). Stable, no
--   locks. Security invoker: the counter is read under the caller's RLS (devices and staff of the branch,
--   tenantless workers).
create or replace function qms.display_area_id(p_tenant_id uuid, p_counter_id uuid, p_ticket_area_id uuid)
    returns uuid
    language sql stable parallel safe
    security invoker
as $$
    select coalesce((select c.area_id from qms.counters c
                     where c.tenant_id = p_tenant_id and c.counter_id = p_counter_id), p_ticket_area_id)
$$;
comment on function qms.display_area_id(uuid, uuid, uuid) is
    'The area whose display boards show a ticket: its counter''s area, else the ticket''s own area; '
    'the one rule of api.display_snapshot and the relay''s display topics.';
revoke all on function qms.display_area_id(uuid, uuid, uuid) from public;
grant execute on function qms.display_area_id(uuid, uuid, uuid)
    to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker;
