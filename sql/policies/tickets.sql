alter table qms.tickets enable row level security;
alter table qms.tickets force row level security;
drop policy if exists tickets_select_scoped on qms.tickets;
create policy tickets_select_scoped on qms.tickets for select
    using (qms.row_visible(tenant_id, branch_id));
drop policy if exists tickets_insert_scoped on qms.tickets;
create policy tickets_insert_scoped on qms.tickets for insert
    to qms_device, qms_agent, qms_supervisor, qms_admin
    with check (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id));
drop policy if exists tickets_update_scoped on qms.tickets;
create policy tickets_update_scoped on qms.tickets for update
    to qms_agent, qms_supervisor, qms_admin, qms_worker
    using (qms.row_visible(tenant_id, branch_id))
    with check (qms.row_visible(tenant_id, branch_id));
revoke all on qms.tickets from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select, insert on qms.tickets to qms_device, qms_agent, qms_supervisor, qms_admin;
grant select, update on qms.tickets to qms_agent, qms_supervisor, qms_admin, qms_worker;
