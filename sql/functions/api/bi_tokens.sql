-- BI connector tokens (US-ANALYT-006): admins issue read-only tokens for BI tools; the gateway serves
-- GET /api/analytics/bi/kpi with them (rate-limited per token), answering api.kpi as an analyst of the tenant.
--
-- api.create_bi_token(name) -> {token_id, name, created_at, token}: the token '<tenant_id>.<secret>' is
--   returned this once (only its sha256 is stored). PT403 FORBIDDEN (admins only; tenant-wide), PT400
--   INVALID_NAME. Audited (bi_token.create).
-- api.list_bi_tokens() -> the tenant's tokens without secrets. api.revoke_bi_token(token_id) -> void;
--   PT404 BI_TOKEN_NOT_FOUND. Audited (bi_token.revoke). Idempotent: revoking twice keeps the first time.
-- qms.bi_token_claims(token) -> the request claims of a valid token ({role qms_analyst, tenant_id, sub
--   'bi:<token_id>'}); PT401 INVALID_BI_TOKEN for a malformed, unknown or revoked token (one answer for all).
--   Security definer (the gateway has no tenant yet), for qms_authenticator. Stable, no locks.
create or replace function api.create_bi_token(name text) returns jsonb
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
    -- two random uuids: 244 random bits, core Postgres only
    v_secret text := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
    v_token text;
    v_row qms.bi_tokens;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    if qms.current_branch_ids() is not null then
        perform qms.fail(403, 'FORBIDDEN', 'a branch-scoped admin may not issue tenant-wide BI tokens',
                         'Ask a tenant-wide admin.');
    end if;
    v_token := v_tenant::text || '.' || v_secret;
    insert into qms.bi_tokens (tenant_id, name, token_hash)
    values (v_tenant, qms.validate_name(create_bi_token.name, 200), sha256(convert_to(v_token, 'UTF8')))
    returning * into v_row;
    perform qms.audit_write('bi_token.create', 'bi_token', v_row.token_id::text, null,
                            jsonb_build_object('name', v_row.name));
    return jsonb_build_object('token_id', v_row.token_id, 'name', v_row.name, 'created_at', v_row.created_at,
                              'token', v_token);
end
$$;
comment on function api.create_bi_token(text) is
    'Issue a read-only BI token for the tenant''s KPIs (admins); the token is returned once. PT403, PT400 INVALID_NAME.';

create or replace function api.list_bi_tokens() returns jsonb
    language plpgsql stable
    security invoker
as $$
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    return (select coalesce(jsonb_agg(jsonb_build_object('token_id', t.token_id, 'name', t.name,
                                                         'created_at', t.created_at, 'revoked_at', t.revoked_at)
                                      order by t.created_at, t.token_id), '[]')
            from qms.bi_tokens t where t.tenant_id = v_tenant);
end
$$;
comment on function api.list_bi_tokens() is 'The tenant''s BI tokens, without secrets (admins).';

create or replace function api.revoke_bi_token(token_id uuid) returns void
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
    v_row qms.bi_tokens;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    update qms.bi_tokens t set revoked_at = coalesce(t.revoked_at, now())
    where t.tenant_id = v_tenant and t.token_id = revoke_bi_token.token_id
    returning * into v_row;
    if not found then
        perform qms.fail(404, 'BI_TOKEN_NOT_FOUND', 'BI token not found', 'Use an id from api.list_bi_tokens().');
    end if;
    perform qms.audit_write('bi_token.revoke', 'bi_token', v_row.token_id::text, null,
                            jsonb_build_object('revoked_at', v_row.revoked_at));
end
$$;
comment on function api.revoke_bi_token(uuid) is 'Revoke a BI token (admins). PT404 BI_TOKEN_NOT_FOUND.';

create or replace function qms.bi_token_claims(p_token text) returns jsonb
    language plpgsql stable
    security definer
    set search_path = ''
as $$
declare
    v_tenant uuid;
    v_token_id uuid;
begin
    if p_token ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[A-Za-z0-9_-]{16,64}$' then
        v_tenant := split_part(p_token, '.', 1)::uuid;
        select t.token_id into v_token_id
        from qms.bi_tokens t join qms.tenants n on n.tenant_id = t.tenant_id
        where t.tenant_id = v_tenant and t.token_hash = pg_catalog.sha256(pg_catalog.convert_to(p_token, 'UTF8'))
          and t.revoked_at is null and n.is_active;
    end if;
    if v_token_id is null then
        perform qms.fail(401, 'INVALID_BI_TOKEN', 'the BI token is not valid', 'Ask an admin for a BI token.');
    end if;
    return pg_catalog.jsonb_build_object('role', 'qms_analyst', 'tenant_id', v_tenant, 'sub', 'bi:' || v_token_id);
end
$$;
comment on function qms.bi_token_claims(text) is
    'Request claims of a valid BI token (qms_analyst of its tenant); PT401 INVALID_BI_TOKEN otherwise.';
revoke all on function qms.bi_token_claims(text) from public;
