alter table qms.counters enable row level security;
alter table qms.counters force row level security;
drop policy if exists counters_select_scoped on qms.counters;
create policy counters_select_scoped on qms.counters for select
    using (((tenant_id = (select qms.current_tenant_id())
            and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])))
           or (select qms.is_tenantless_worker())));
drop policy if exists counters_insert_admin on qms.counters;
create policy counters_insert_admin on qms.counters for insert to qms_admin
    with check (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists counters_update_admin on qms.counters;
create policy counters_update_admin on qms.counters for update to qms_admin
    using (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])))
    with check (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists counters_delete_admin on qms.counters;
create policy counters_delete_admin on qms.counters for delete to qms_admin
    using (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
revoke all on qms.counters from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select on qms.counters to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant insert, update, delete on qms.counters to qms_admin;
-- Agents and supervisors change a counter's status (available / break / closed) and nothing else.
drop policy if exists counters_update_staff on qms.counters;
create policy counters_update_staff on qms.counters for update to qms_agent, qms_supervisor
    using (tenant_id = (select qms.current_tenant_id()) and qms.can_use_counter(branch_id, counter_id))
    with check (tenant_id = (select qms.current_tenant_id()) and qms.can_use_counter(branch_id, counter_id));
grant update (status, updated_at) on qms.counters to qms_agent, qms_supervisor;
