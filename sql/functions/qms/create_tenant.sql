-- Provisioning (owner/DBA only, not exposed through api): create a tenant and return its id.
-- Errors: PT400 INVALID_SLUG / INVALID_NAME, PT409 TENANT_EXISTS. Not idempotent by design:
-- a slug is created once.
create or replace function qms.create_tenant(name text, slug text) returns uuid
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_tenant uuid;
begin
    if name is null or length(btrim(name)) not between 1 and 200 then
        perform qms.fail(400, 'INVALID_NAME', 'tenant name must be 1 to 200 characters');
    end if;
    if slug is null or slug !~ '^[a-z0-9][a-z0-9-]{1,62}$' then
        perform qms.fail(400, 'INVALID_SLUG', 'tenant slug must be 2 to 63 lower-case letters, digits or dashes',
                         'Use something like "acme-bank".');
    end if;
    if exists (select 1 from qms.tenants t where t.slug = create_tenant.slug) then
        perform qms.fail(409, 'TENANT_EXISTS', format('a tenant with slug %s already exists', slug));
    end if;
    insert into qms.tenants (name, slug) values (btrim(name), slug) returning tenant_id into v_tenant;
    insert into audit.chain_heads (tenant_id) values (v_tenant);
    return v_tenant;
end
$$;
comment on function qms.create_tenant(text, text) is
    'Provision a tenant (DBA/owner only). Raises PT400 INVALID_NAME/INVALID_SLUG, PT409 TENANT_EXISTS.';
revoke all on function qms.create_tenant(text, text) from public;
