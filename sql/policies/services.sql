alter table qms.services enable row level security;
alter table qms.services force row level security;
drop policy if exists services_select_scoped on qms.services;
create policy services_select_scoped on qms.services for select
    using (((tenant_id = (select qms.current_tenant_id())
            and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])))
           or (select qms.is_tenantless_worker())));
drop policy if exists services_insert_admin on qms.services;
create policy services_insert_admin on qms.services for insert to qms_admin
    with check (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists services_update_admin on qms.services;
create policy services_update_admin on qms.services for update to qms_admin
    using (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])))
    with check (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists services_delete_admin on qms.services;
create policy services_delete_admin on qms.services for delete to qms_admin
    using (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
revoke all on qms.services from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select on qms.services to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant insert, update, delete on qms.services to qms_admin;
