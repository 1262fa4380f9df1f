-- qms.auth_token_valid: the per-request revocation check of the gateway, run inside the request
-- transaction before `set role`. A user token is valid while the user and tenant are active and the
-- token's tv equals users.token_version; a device token while the device is active and tv equals
-- devices.token_version. Worker tokens carry no tv and are always valid (rotate the secret to revoke).
-- Tokens without tv (minted by operators with the CLI) skip the version check: they are valid while the
-- tenant is active and, when sub names a user or device, while that user or device is active.
-- Whatever the role claim (worker tokens included), a token whose sub names a device of its tenant is
-- subject to that device's revocation: it is valid only while the device is active (and, for a role other
-- than qms_device, only without tv, as a device has no user token_version).
-- A valid device request also records last_seen_at, at most once a minute (cheap: no write otherwise).
-- Transition: none. Errors: none (false means 401 TOKEN_REVOKED). Lookups by primary key.
create or replace function qms.auth_token_valid(p_tenant_id uuid, p_sub text, p_role text, p_tv integer)
    returns boolean
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_ok boolean;
    v_seen timestamptz;
    v_is_uuid boolean := p_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
    v_device_active boolean;
begin
    if p_role = 'qms_worker' then
        if p_tenant_id is null or not coalesce(v_is_uuid, false) then
            return true;
        end if;
        -- a worker token that names a device stands or falls with the device
        select d.status = 'active' into v_device_active
        from qms.devices d where d.tenant_id = p_tenant_id and d.device_id = p_sub::uuid;
        return coalesce(v_device_active, true);
    end if;
    if p_tenant_id is null then
        return false;
    end if;
    if not coalesce(v_is_uuid, false) then
        return p_tv is null and exists (select 1 from qms.tenants t where t.tenant_id = p_tenant_id and t.is_active);
    end if;
    if p_role = 'qms_device' then
        select d.status = 'active' and (p_tv is null or d.token_version = p_tv) and t.is_active, d.last_seen_at
        into v_ok, v_seen
        from qms.devices d join qms.tenants t on t.tenant_id = d.tenant_id
        where d.tenant_id = p_tenant_id and d.device_id = p_sub::uuid;
        if coalesce(v_ok, false) and (v_seen is null or v_seen < now() - interval '60 seconds') then
            update qms.devices set last_seen_at = now()
            where tenant_id = p_tenant_id and device_id = p_sub::uuid;
        end if;
        return coalesce(v_ok, false);
    end if;
    select u.is_active and t.is_active
           and (p_tv is null or (u.token_version = p_tv and 'qms_' || u.role = p_role))
    into v_ok
    from qms.users u join qms.tenants t on t.tenant_id = u.tenant_id
    where u.tenant_id = p_tenant_id and u.user_id = p_sub::uuid;
    if not found and p_tv is null then
        -- an operator-minted token whose sub is no user: when it names a device the device must be active,
        -- otherwise (a service identity) the tenant must be
        select d.status = 'active' into v_device_active
        from qms.devices d where d.tenant_id = p_tenant_id and d.device_id = p_sub::uuid;
        select t.is_active and coalesce(v_device_active, true) into v_ok
        from qms.tenants t where t.tenant_id = p_tenant_id;
    end if;
    return coalesce(v_ok, false);
end
$$;
comment on function qms.auth_token_valid(uuid, text, text, integer) is
    'Per-request token check: user/device active and token_version = tv (workers always). Records a '
    'device''s last_seen_at at most once a minute. Gateway (qms_authenticator) only.';
