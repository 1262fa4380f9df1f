alter table qms.policies enable row level security;
alter table qms.policies force row level security;
drop policy if exists policies_select_scoped on qms.policies;
create policy policies_select_scoped on qms.policies for select
    using (qms.row_visible(tenant_id, branch_id));
drop policy if exists policies_insert_admin on qms.policies;
create policy policies_insert_admin on qms.policies for insert to qms_admin
    with check (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id));
drop policy if exists policies_update_admin on qms.policies;
create policy policies_update_admin on qms.policies for update to qms_admin
    using (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id))
    with check (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id));
drop policy if exists policies_delete_admin on qms.policies;
create policy policies_delete_admin on qms.policies for delete to qms_admin
    using (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id));
revoke all on qms.policies from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select on qms.policies to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant insert, update, delete on qms.policies to qms_admin;
