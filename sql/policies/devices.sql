alter table qms.devices enable row level security;
alter table qms.devices force row level security;
drop policy if exists devices_select_scoped on qms.devices;
create policy devices_select_scoped on qms.devices for select
    using (((tenant_id = (select qms.current_tenant_id())
            and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])))
           or (select qms.is_tenantless_worker())));
drop policy if exists devices_insert_admin on qms.devices;
create policy devices_insert_admin on qms.devices for insert to qms_admin
    with check (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists devices_update_admin on qms.devices;
create policy devices_update_admin on qms.devices for update to qms_admin
    using (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])))
    with check (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists devices_delete_admin on qms.devices;
create policy devices_delete_admin on qms.devices for delete to qms_admin
    using (tenant_id = (select qms.current_tenant_id()) and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
revoke all on qms.devices from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select on qms.devices to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant insert, update, delete on qms.devices to qms_admin;
-- A device records its own heartbeat (last_seen_at) and nothing else.
drop policy if exists devices_update_self on qms.devices;
create policy devices_update_self on qms.devices for update to qms_device
    using (tenant_id = (select qms.current_tenant_id()) and device_id::text = qms.current_sub())
    with check (tenant_id = (select qms.current_tenant_id()) and device_id::text = qms.current_sub());
grant update (last_seen_at) on qms.devices to qms_device;
