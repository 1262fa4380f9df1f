alter table qms.policies enable row level security;
alter table qms.policies force row level security;
drop policy if exists policies_select_scoped on qms.policies;
create policy policies_select_scoped on qms.policies for select
    using (((tenant_id = (select qms.current_tenant_id())
            and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])))
           or (select qms.is_tenantless_worker())));
drop policy if exists policies_insert_admin on qms.policies;
create policy policies_insert_admin on qms.policies for insert to qms_admin
    with check (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists policies_update_admin on qms.policies;
create policy policies_update_admin on qms.policies for update to qms_admin
    using (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])))
    with check (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists policies_delete_admin on qms.policies;
create policy policies_delete_admin on qms.policies for delete to qms_admin
    using (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
revoke all on qms.policies from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select on qms.policies to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant insert, update, delete on qms.policies to qms_admin;
