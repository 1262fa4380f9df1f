-- Object builders of the admin api: the jsonb each api function returns for a tenant, counter, user
-- or device. Private helpers (schema qms), read-only.

-- qms.tenant_json: the tenant object of the api. Read-only.
create or replace function qms.tenant_json(p_tenant qms.tenants) returns jsonb
    language sql immutable
as $$
    select jsonb_build_object(
        'tenant_id', p_tenant.tenant_id, 'name', p_tenant.name, 'slug', p_tenant.slug,
        'branding', p_tenant.branding, 'features', p_tenant.features, 'pii_policy', p_tenant.pii_policy,
        'is_active', p_tenant.is_active, 'created_at', p_tenant.created_at)
$$;
comment on function qms.tenant_json(qms.tenants) is 'Tenant object of the api.';

-- qms.counter_json: a counter as the api returns it: its columns plus service_ids (sorted). Read-only.
create or replace function qms.counter_json(p_counter qms.counters) returns jsonb
    language sql stable
as $$
    select to_jsonb(p_counter) || jsonb_build_object('service_ids', coalesce((
        select jsonb_agg(cs.service_id order by cs.service_id)
        from qms.counter_services cs
        where cs.tenant_id = p_counter.tenant_id and cs.counter_id = p_counter.counter_id), '[]'::jsonb))
$$;
comment on function qms.counter_json(qms.counters) is 'Counter object of the api: columns plus service_ids.';

-- qms.user_json: the user object of the api (never password_hash); null when the row is not visible.
create or replace function qms.user_json(p_tenant_id uuid, p_user_id uuid) returns jsonb
    language sql stable
as $$
    select jsonb_build_object(
        'user_id', u.user_id, 'tenant_id', u.tenant_id, 'email', u.email, 'display_name', u.display_name,
        'role', u.role, 'branch_ids', to_jsonb(u.branch_ids), 'counter_ids', to_jsonb(u.counter_ids),
        'is_active', u.is_active, 'token_version', u.token_version, 'last_login_at', u.last_login_at,
        'created_at', u.created_at, 'updated_at', u.updated_at)
    from qms.users u
    where u.tenant_id = p_tenant_id and u.user_id = p_user_id
$$;
comment on function qms.user_json(uuid, uuid) is 'User object of the api (without password_hash).';

-- qms.device_json: the device object of the api: columns plus online (seen within the last 60 seconds).
create or replace function qms.device_json(p_device qms.devices) returns jsonb
    language sql stable
as $$
    select to_jsonb(p_device)
        || jsonb_build_object('online', coalesce(p_device.last_seen_at > now() - interval '60 seconds', false))
$$;
comment on function qms.device_json(qms.devices) is 'Device object of the api: columns plus online (seen < 60 s ago).';
