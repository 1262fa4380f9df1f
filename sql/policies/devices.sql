alter table qms.devices enable row level security;
alter table qms.devices force row level security;
drop policy if exists devices_select_scoped on qms.devices;
create policy devices_select_scoped on qms.devices for select
    using (qms.row_visible(tenant_id, branch_id));
drop policy if exists devices_insert_admin on qms.devices;
create policy devices_insert_admin on qms.devices for insert to qms_admin
    with check (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id));
drop policy if exists devices_update_admin on qms.devices;
create policy devices_update_admin on qms.devices for update to qms_admin
    using (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id))
    with check (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id));
drop policy if exists devices_delete_admin on qms.devices;
create policy devices_delete_admin on qms.devices for delete to qms_admin
    using (tenant_id = qms.current_tenant_id() and qms.can_see_branch(branch_id));
revoke all on qms.devices from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select on qms.devices to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant insert, update, delete on qms.devices to qms_admin;
-- A device records its own heartbeat (last_seen_at) and nothing else.
drop policy if exists devices_update_self on qms.devices;
create policy devices_update_self on qms.devices for update to qms_device
    using (tenant_id = qms.current_tenant_id() and device_id::text = qms.current_sub())
    with check (tenant_id = qms.current_tenant_id() and device_id::text = qms.current_sub());
grant update (last_seen_at) on qms.devices to qms_device;
