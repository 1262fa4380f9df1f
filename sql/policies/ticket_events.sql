alter table qms.ticket_events enable row level security;
alter table qms.ticket_events force row level security;
drop policy if exists ticket_events_select_scoped on qms.ticket_events;
create policy ticket_events_select_scoped on qms.ticket_events for select
    using (qms.row_visible(tenant_id, branch_id));
drop policy if exists ticket_events_insert_scoped on qms.ticket_events;
create policy ticket_events_insert_scoped on qms.ticket_events for insert
    to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker
    with check (qms.row_visible(tenant_id, branch_id));
revoke all on qms.ticket_events from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker,
    qms_analyst;
grant select, insert on qms.ticket_events to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker;

create or replace trigger ticket_events_append_only
    before update or delete on qms.ticket_events
    for each row execute function qms.tg_append_only__refuse();
create or replace trigger ticket_events_no_truncate
    before truncate on qms.ticket_events
    for each statement execute function qms.tg_append_only__refuse();
