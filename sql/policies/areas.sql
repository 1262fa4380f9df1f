alter table qms.areas enable row level security;
alter table qms.areas force row level security;
drop policy if exists areas_select_scoped on qms.areas;
create policy areas_select_scoped on qms.areas for select
    using (((tenant_id = (select qms.current_tenant_id())
            and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])))
           or (select qms.is_tenantless_worker())));
drop policy if exists areas_insert_admin on qms.areas;
create policy areas_insert_admin on qms.areas for insert to qms_admin
    with check (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists areas_update_admin on qms.areas;
create policy areas_update_admin on qms.areas for update to qms_admin
    using (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])))
    with check (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists areas_delete_admin on qms.areas;
create policy areas_delete_admin on qms.areas for delete to qms_admin
    using (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
revoke all on qms.areas from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select on qms.areas to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant insert, update, delete on qms.areas to qms_admin;
