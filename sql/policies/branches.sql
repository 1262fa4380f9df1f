alter table qms.branches enable row level security;
alter table qms.branches force row level security;
drop policy if exists branches_select_scoped on qms.branches;
create policy branches_select_scoped on qms.branches for select
    using (qms.row_visible(tenant_id, branch_id));
drop policy if exists branches_insert_admin on qms.branches;
create policy branches_insert_admin on qms.branches for insert to qms_admin
    with check (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id));
drop policy if exists branches_update_admin on qms.branches;
create policy branches_update_admin on qms.branches for update to qms_admin
    using (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id))
    with check (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id));
drop policy if exists branches_delete_admin on qms.branches;
create policy branches_delete_admin on qms.branches for delete to qms_admin
    using (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id));
revoke all on qms.branches from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select on qms.branches to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant insert, update, delete on qms.branches to qms_admin;
