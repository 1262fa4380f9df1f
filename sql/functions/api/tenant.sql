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

-- api.update_tenant: rename the tenant or replace its branding, feature flags or PII policy (JSON objects);
-- null leaves a field unchanged. Only a tenant-wide admin (no branch_ids claim) may do it. The PII policy is
-- {"contacts": bool (customers may leave a phone or e-mail), "retention_days": 0..3650 (contact data kept
-- after the ticket ends)}. Audited (tenant.update, before/after).
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_NAME / INVALID_BRANDING / INVALID_FEATURES /
-- INVALID_PII_POLICY, PT404 TENANT_NOT_FOUND. Locking: the tenant row. Idempotent.
create or replace function api.update_tenant(name text default null, branding jsonb default null,
                                             features jsonb default null, pii_policy jsonb default null)
    returns jsonb
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
    if update_tenant.pii_policy is not null and (
           jsonb_typeof(update_tenant.pii_policy) <> 'object'
           or exists (select 1 from jsonb_object_keys(update_tenant.pii_policy) k
                      where k not in ('contacts', 'retention_days'))
           or jsonb_typeof(coalesce(update_tenant.pii_policy -> 'contacts', 'false')) <> 'boolean'
           or jsonb_typeof(coalesce(update_tenant.pii_policy -> 'retention_days', '0')) <> 'number'
           or coalesce((update_tenant.pii_policy ->> 'retention_days')::numeric, 0) not between 0 and 3650
           or coalesce((update_tenant.pii_policy ->> 'retention_days')::numeric, 0) % 1 <> 0) then
        perform qms.fail(400, 'INVALID_PII_POLICY', 'pii_policy must be {"contacts": bool, "retention_days": 0..3650}',
                         'e.g. {"contacts": true, "retention_days": 30}');
    end if;
    select * into v_before from qms.tenants t where t.tenant_id = v_tenant for update;
    if not found then
        perform qms.fail(404, 'TENANT_NOT_FOUND', 'tenant not found');
    end if;
    update qms.tenants t set
        name = coalesce(btrim(update_tenant.name), t.name),
        branding = coalesce(update_tenant.branding, t.branding),
        features = coalesce(update_tenant.features, t.features),
        pii_policy = coalesce(t.pii_policy || update_tenant.pii_policy, t.pii_policy)
    where t.tenant_id = v_tenant
    returning * into v_after;
    perform qms.audit_write('tenant.update', 'tenant', v_tenant::text, qms.tenant_json(v_before),
                            qms.tenant_json(v_after));
    return qms.tenant_json(v_after);
end
$$;
comment on function api.update_tenant(text, jsonb, jsonb, jsonb) is
    'Update the caller''s tenant (tenant-wide admin): name, branding, features, pii_policy. PT400 INVALID_*, '
    'PT403 FORBIDDEN.';
