alter table qms.areas enable row level security;
alter table qms.areas force row level security;
drop policy if exists areas_select_scoped on qms.areas;
create policy areas_select_scoped on qms.areas for select
    using (qms.row_visible(tenant_id, branch_id));
drop policy if exists areas_insert_admin on qms.areas;
create policy areas_insert_admin on qms.areas for insert to qms_admin
    with check (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id));
drop policy if exists areas_update_admin on qms.areas;
create policy areas_update_admin on qms.areas for update to qms_admin
    using (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id))
    with check (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id));
drop policy if exists areas_delete_admin on qms.areas;
create policy areas_delete_admin on qms.areas for delete to qms_admin
    using (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id));
revoke all on qms.areas from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select on qms.areas to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant insert, update, delete on qms.areas to qms_admin;
