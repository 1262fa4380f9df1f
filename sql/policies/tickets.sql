alter table qms.tickets enable row level security;
alter table qms.tickets force row level security;
-- Claim helpers are called through scalar sub-selects so that they run once per statement (InitPlans),
-- and request roles get a predicate on tenant_id alone that the planner can use as an index condition;
-- the tenant-less worker has a policy of its own.
drop policy if exists tickets_select_scoped on qms.tickets;
create policy tickets_select_scoped on qms.tickets for select
    to qms_device, qms_agent, qms_supervisor, qms_admin, qms_analyst
    using (tenant_id = (select qms.current_tenant_id())
           and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists tickets_insert_scoped on qms.tickets;
create policy tickets_insert_scoped on qms.tickets for insert
    to qms_device, qms_agent, qms_supervisor, qms_admin
    with check (tenant_id = (select qms.current_tenant_id())
                and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists tickets_update_scoped on qms.tickets;
create policy tickets_update_scoped on qms.tickets for update
    to qms_agent, qms_supervisor, qms_admin
    using (tenant_id = (select qms.current_tenant_id())
           and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])))
    with check (tenant_id = (select qms.current_tenant_id())
                and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists tickets_all_worker on qms.tickets;
create policy tickets_all_worker on qms.tickets for all to qms_worker
    using (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))
    with check (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()));
revoke all on qms.tickets from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select, insert on qms.tickets to qms_device, qms_agent, qms_supervisor, qms_admin;
grant select, update on qms.tickets to qms_agent, qms_supervisor, qms_admin, qms_worker;
