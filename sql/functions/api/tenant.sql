-- The caller's tenant: api.get_tenant and api.update_tenant (name, branding, feature flags). Tenants are
-- provisioned by the owner with qms.create_tenant, never through the api.

-- api.get_tenant: the caller's tenant. Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT404 TENANT_NOT_FOUND.
create or replace function api.get_tenant() returns jsonb
    language plpgsql stable
as $$
declare
    v_row qms.tenants;
begin
    perform qms.require_role('qms_admin', 'qms_supervisor', 'qms_agent');
    select * into v_row from qms.tenants t where t.tenant_id = qms.require_tenant();
    if not found then
        perform qms.fail(404, 'TENANT_NOT_FOUND', 'tenant not found');
    end if;
    return qms.tenant_json(v_row);
end
$$;
comment on function api.get_tenant() is 'The caller''s tenant (name, slug, branding, features, pii_policy).';

-- api.update_tenant: rename the tenant or replace its branding or feature flags (JSON objects); null leaves a
-- field unchanged. Only a tenant-wide admin (no branch_ids claim) may do it.
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_NAME / INVALID_BRANDING / INVALID_FEATURES,
-- PT404 TENANT_NOT_FOUND. Locking: the tenant row. Idempotent.
create or replace function api.update_tenant(name text default null, branding jsonb default null,
                                             features jsonb default null) returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_before qms.tenants;
    v_after qms.tenants;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    if qms.current_branch_ids() is not null then
        perform qms.fail(403, 'FORBIDDEN', 'only a tenant-wide admin may change the tenant');
    end if;
    if update_tenant.name is not null then
        perform qms.validate_name(update_tenant.name);
    end if;
    if jsonb_typeof(update_tenant.branding) <> 'object' then
        perform qms.fail(400, 'INVALID_BRANDING', 'branding must be a JSON object',
                         'e.g. {"logo_url": "...", "primary_color": "#0a5"}');
    end if;
    if jsonb_typeof(update_tenant.features) <> 'object' then
        perform qms.fail(400, 'INVALID_FEATURES', 'features must be a JSON object of flags',
                         'e.g. {"virtual_queue": true}');
    end if;
    select * into v_before from qms.tenants t where t.tenant_id = v_tenant for update;
    if not found then
        perform qms.fail(404, 'TENANT_NOT_FOUND', 'tenant not found');
    end if;
    update qms.tenants t set
        name = coalesce(btrim(update_tenant.name), t.name),
        branding = coalesce(update_tenant.branding, t.branding),
        features = coalesce(update_tenant.features, t.features)
    where t.tenant_id = v_tenant
    returning * into v_after;
    perform qms.audit_write('tenant.update', 'tenant', v_tenant::text, qms.tenant_json(v_before),
                            qms.tenant_json(v_after));
    return qms.tenant_json(v_after);
end
$$;
comment on function api.update_tenant(text, jsonb, jsonb) is
    'Update the caller''s tenant (tenant-wide admin): name, branding, features. PT400 INVALID_*, PT403 FORBIDDEN.';
