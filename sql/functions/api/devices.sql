-- Devices (kiosks and display boards): api.create_device, api.update_device, api.list_devices and the
-- device's own api.device_heartbeat. Device tokens are issued by the gateway; revoking a device bumps its
-- token_version so the gateway refuses its tokens at once.

-- api.create_device: register a kiosk or display of a branch (status active, config_version 1).
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_DEVICE_KIND / INVALID_NAME / INVALID_CONFIG /
-- AREA_NOT_IN_BRANCH, PT404 BRANCH_NOT_FOUND / AREA_NOT_FOUND, PT409 DEVICE_EXISTS (same name in the branch).
-- Not idempotent. No explicit locks.
create or replace function api.create_device(
    branch_id uuid,
    kind text,
    name text,
    area_id uuid default null,
    config jsonb default '{}'
) returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_name text;
    v_row qms.devices;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    if create_device.kind is null or not create_device.kind = any (enum_range(null::qms.device_kind)::text[]) then
        perform qms.fail(400, 'INVALID_DEVICE_KIND', format('unknown device kind %s', coalesce(create_device.kind, 'null')),
                         'Use kiosk or display.');
    end if;
    v_name := qms.validate_name(create_device.name, 100);
    perform qms.validate_device_config(create_device.config);
    perform qms.require_branch(create_device.branch_id);
    perform qms.require_area(create_device.branch_id, create_device.area_id);
    begin
        insert into qms.devices (tenant_id, branch_id, area_id, kind, name, config)
        values (v_tenant, create_device.branch_id, create_device.area_id, create_device.kind::qms.device_kind, v_name,
                coalesce(create_device.config, '{}'::jsonb))
        returning * into v_row;
    exception when unique_violation then
        perform qms.fail(409, 'DEVICE_EXISTS', format('a device named %s already exists in this branch', v_name));
    end;
    perform qms.audit_write('device.create', 'device', v_row.device_id::text, null, to_jsonb(v_row));
    return qms.device_json(v_row);
end
$$;
comment on function api.create_device(uuid, text, text, uuid, jsonb) is
    'Register a kiosk or display (admin). PT400 INVALID_DEVICE_KIND/INVALID_CONFIG, PT404 BRANCH_NOT_FOUND, '
    'PT409 DEVICE_EXISTS.';

-- api.update_device: rename, move to an area, change status (pending/active/revoked) or config; null leaves
-- a field unchanged. Revoking bumps token_version; a changed config bumps config_version (devices pick it up
-- from their next heartbeat).
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_NAME / INVALID_DEVICE_STATUS / INVALID_CONFIG /
-- AREA_NOT_IN_BRANCH, PT404 DEVICE_NOT_FOUND / AREA_NOT_FOUND, PT409 DEVICE_EXISTS.
-- Locking: the device row. Idempotent (repeating bumps nothing).
create or replace function api.update_device(
    device_id uuid,
    name text default null,
    area_id uuid default null,
    status text default null,
    config jsonb default null
) returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_before qms.devices;
    v_after qms.devices;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    if update_device.name is not null then
        perform qms.validate_name(update_device.name, 100);
    end if;
    if update_device.status is not null
       and not update_device.status = any (enum_range(null::qms.device_status)::text[]) then
        perform qms.fail(400, 'INVALID_DEVICE_STATUS', format('unknown device status %s', update_device.status),
                         'Use pending, active or revoked.');
    end if;
    perform qms.validate_device_config(update_device.config);
    select * into v_before from qms.devices d
    where d.tenant_id = v_tenant and d.device_id = update_device.device_id
    for update;
    if not found then
        perform qms.fail(404, 'DEVICE_NOT_FOUND', 'device not found');
    end if;
    perform qms.require_area(v_before.branch_id, update_device.area_id);
    begin
        update qms.devices d set
            name = coalesce(btrim(update_device.name), d.name),
            area_id = coalesce(update_device.area_id, d.area_id),
            status = coalesce(update_device.status::qms.device_status, d.status),
            token_version = d.token_version
                + case when update_device.status = 'revoked' and d.status <> 'revoked' then 1 else 0 end,
            config = coalesce(update_device.config, d.config),
            config_version = d.config_version
                + case when update_device.config is distinct from d.config and update_device.config is not null
                       then 1 else 0 end,
            updated_at = now()
        where d.tenant_id = v_tenant and d.device_id = update_device.device_id
        returning * into v_after;
    exception when unique_violation then
        perform qms.fail(409, 'DEVICE_EXISTS',
                         format('a device named %s already exists in this branch', btrim(update_device.name)));
    end;
    perform qms.audit_write('device.update', 'device', v_after.device_id::text, to_jsonb(v_before), to_jsonb(v_after));
    return qms.device_json(v_after);
end
$$;
comment on function api.update_device(uuid, text, uuid, text, jsonb) is
    'Update a device (admin); revoking bumps token_version, a new config bumps config_version. '
    'PT404 DEVICE_NOT_FOUND, PT400 INVALID_DEVICE_STATUS/INVALID_CONFIG, PT409 DEVICE_EXISTS.';

-- api.list_devices: visible devices with last_seen_at and online, optionally of one branch.
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT404 BRANCH_NOT_FOUND. Read-only.
create or replace function api.list_devices(branch_id uuid default null) returns jsonb
    language plpgsql stable
as $$
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_admin', 'qms_supervisor');
    v_tenant := qms.require_tenant();
    if list_devices.branch_id is not null then
        perform qms.require_branch(list_devices.branch_id);
    end if;
    return coalesce((
        select jsonb_agg(qms.device_json(d) order by d.name, d.device_id)
        from qms.devices d
        where d.tenant_id = v_tenant
          and (list_devices.branch_id is null or d.branch_id = list_devices.branch_id)), '[]'::jsonb);
end
$$;
comment on function api.list_devices(uuid) is 'Devices visible to the caller with last_seen_at and online, by name.';

-- api.device_heartbeat: called by a device (role qms_device, sub = its device_id, branch_ids = [its branch])
-- every few seconds: records last_seen_at and returns {device_id, config_version, config} so the device
-- reloads its configuration when config_version changed.
-- Errors: PT403 FORBIDDEN (not a device), PT401 TENANT_REQUIRED, PT404 DEVICE_NOT_FOUND,
-- PT409 DEVICE_REVOKED. Idempotent apart from last_seen_at. Locking: the device row (the update).
create or replace function api.device_heartbeat() returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_device_id uuid;
    v_result jsonb;
begin
    perform qms.require_role('qms_device');
    v_tenant := qms.require_tenant();
    if qms.current_sub() ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        v_device_id := qms.current_sub()::uuid;
    end if;
    update qms.devices d set last_seen_at = now()
    where d.tenant_id = v_tenant and d.device_id = v_device_id and d.status <> 'revoked'
    returning jsonb_build_object('device_id', d.device_id, 'config_version', d.config_version, 'config', d.config)
    into v_result;
    if v_result is null then
        if exists (select 1 from qms.devices d where d.tenant_id = v_tenant and d.device_id = v_device_id) then
            perform qms.fail(409, 'DEVICE_REVOKED', 'this device has been revoked',
                             'Ask an administrator to re-activate the device and pair it again.');
        end if;
        perform qms.fail(404, 'DEVICE_NOT_FOUND', 'device not found',
                         'The token''s sub must be the device id and branch_ids its branch.');
    end if;
    return v_result;
end
$$;
comment on function api.device_heartbeat() is
    'Device heartbeat (qms_device): sets last_seen_at, returns {device_id, config_version, config}. '
    'PT404 DEVICE_NOT_FOUND, PT409 DEVICE_REVOKED.';
