-- api.auth_whoami: who the current request is, as the database sees it (role, tenant, sub, scope).
-- Useful to clients after login and to operators checking a token. Transition: none. Errors: none.
-- Idempotent, no locks.
create or replace function api.auth_whoami() returns jsonb
    language sql stable
as $$
    select jsonb_build_object(
        'role', current_user::text,
        'tenant_id', qms.current_tenant_id(),
        'sub', qms.current_sub(),
        'branch_ids', to_jsonb(qms.current_branch_ids()),
        'counter_ids', to_jsonb(qms.claim_uuid_array('counter_ids')),
        'request_id', nullif(current_setting('request.id', true), ''))
$$;
comment on function api.auth_whoami() is
    'The role, tenant, sub and branch/counter scope of the current request.';
