alter table qms.ticket_events enable row level security;
alter table qms.ticket_events force row level security;
drop policy if exists ticket_events_select_scoped on qms.ticket_events;
create policy ticket_events_select_scoped on qms.ticket_events for select
    to qms_device, qms_agent, qms_supervisor, qms_admin, qms_analyst
    using (tenant_id = (select qms.current_tenant_id())
           and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists ticket_events_insert_scoped on qms.ticket_events;
create policy ticket_events_insert_scoped on qms.ticket_events for insert
    to qms_device, qms_agent, qms_supervisor, qms_admin
    with check (tenant_id = (select qms.current_tenant_id())
                and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists ticket_events_all_worker on qms.ticket_events;
create policy ticket_events_all_worker on qms.ticket_events for all to qms_worker
    using (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))
    with check (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()));
revoke all on qms.ticket_events from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker,
    qms_analyst;
grant select, insert on qms.ticket_events to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker;

create or replace trigger ticket_events_append_only
    before update or delete on qms.ticket_events
    for each row execute function qms.tg_append_only__refuse();
create or replace trigger ticket_events_no_truncate
    before truncate on qms.ticket_events
    for each statement execute function qms.tg_append_only__refuse();
