-- api.auth_device_token_claims: what the gateway signs into a device token (POST /api/devices/{id}/token).
-- Admin only, within the admin's branch scope (RLS on qms.devices). Records an audit entry
-- device.token_issued. The token itself is signed by the gateway; revoking it is api.update_device
-- (status revoked, or a token_version bump).
-- Errors: PT403 FORBIDDEN (not an admin), PT404 DEVICE_NOT_FOUND (absent or out of scope),
-- PT409 DEVICE_REVOKED, PT409 DEVICE_NOT_ACTIVE (pending). Not idempotent (one audit row per call). No locks.
create or replace function api.auth_device_token_claims(device_id uuid) returns jsonb
    language plpgsql
as $$
declare
    v_device qms.devices;
begin
    perform qms.require_role('qms_admin');
    select d.* into v_device from qms.devices d
    where d.tenant_id = qms.require_tenant() and d.device_id = auth_device_token_claims.device_id;
    if not found then
        perform qms.fail(404, 'DEVICE_NOT_FOUND', 'no such device in your scope');
    end if;
    if v_device.status = 'revoked' then
        perform qms.fail(409, 'DEVICE_REVOKED', 'the device is revoked',
                         'Re-activate the device (api.update_device) before issuing a token.');
    end if;
    if v_device.status <> 'active' then
        -- A pending device's token would be refused on first use (qms.auth_token_valid wants active).
        perform qms.fail(409, 'DEVICE_NOT_ACTIVE', format('the device is %s, not active', v_device.status),
                         'Activate the device (api.update_device with status active) before issuing a token.');
    end if;
    perform qms.audit_write('device.token_issued', 'device', v_device.device_id::text, null,
                            jsonb_build_object('token_version', v_device.token_version));
    return jsonb_build_object(
        'device_id', v_device.device_id, 'tenant_id', v_device.tenant_id, 'branch_id', v_device.branch_id,
        'area_id', v_device.area_id, 'kind', v_device.kind, 'token_version', v_device.token_version);
end
$$;
comment on function api.auth_device_token_claims(uuid) is
    'Claims for a device token (admin only): device, branch, area, kind, token_version. Audited. '
    'PT403 FORBIDDEN, PT404 DEVICE_NOT_FOUND, PT409 DEVICE_REVOKED.';
