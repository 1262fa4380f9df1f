-- Setting or resetting a staff password from the admin console. The password is hashed with argon2 by the
-- gateway (POST /api/users/{user_id}/password, gateway/routes/admin.py), never in SQL; this family stores
-- the hash through qms.set_user_password_hash (the one writer of password hashes), which bumps the user's
-- token_version and revokes the user's refresh tokens, so every session of the user ends at once.
--
-- qms.admin_store_password_hash(user_id, hash): security definer (the hash column and the refresh tokens are
--   not writable by request roles). Only for a qms_admin request (role claim) of the user's tenant whose
--   branch scope covers the user (a branch-scoped admin reaches users sharing a branch, as RLS on qms.users).
--   Errors: PT401 TENANT_REQUIRED, PT403 FORBIDDEN, PT404 USER_NOT_FOUND (unknown or out of scope),
--   PT400 INVALID_PASSWORD_HASH. Locks the user row.
-- api.set_user_password(user_id, password_hash) -> {user_id, password_set, token_version}: admin; audited as
--   user.password (no hash in the audit entry). Errors as above. Not idempotent in token_version (each call
--   ends the user's sessions again), otherwise repeatable.
create or replace function qms.admin_store_password_hash(p_user_id uuid, p_hash text) returns void
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_tenant uuid := qms.require_tenant();
    v_scope uuid[] := qms.current_branch_ids();
begin
    if qms.current_role_name() <> 'qms_admin' then
        perform qms.fail(403, 'FORBIDDEN', 'only an admin may set a password', 'Ask an administrator.');
    end if;
    perform 1 from qms.users u
    where u.tenant_id = v_tenant and u.user_id = p_user_id
      and (v_scope is null or u.branch_ids && v_scope)
    for update;
    if not found then
        perform qms.fail(404, 'USER_NOT_FOUND', 'user not found');
    end if;
    perform qms.set_user_password_hash(v_tenant, p_user_id, p_hash);
end
$$;
comment on function qms.admin_store_password_hash(uuid, text) is
    'Store an argon2 hash for a user in the admin''s tenant and scope (ends the user''s sessions). '
    'PT403 FORBIDDEN, PT404 USER_NOT_FOUND, PT400 INVALID_PASSWORD_HASH.';
revoke all on function qms.admin_store_password_hash(uuid, text) from public;
grant execute on function qms.admin_store_password_hash(uuid, text) to qms_admin;

create or replace function api.set_user_password(user_id uuid, password_hash text) returns jsonb
    language plpgsql
    security invoker
as $$
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    perform qms.admin_store_password_hash(set_user_password.user_id, set_user_password.password_hash);
    perform qms.audit_write('user.password', 'user', set_user_password.user_id::text, null,
                            jsonb_build_object('password_set', true));
    return jsonb_build_object('user_id', set_user_password.user_id, 'password_set', true,
                              'token_version', (select u.token_version from qms.users u
                                                where u.tenant_id = v_tenant and u.user_id = set_user_password.user_id));
end
$$;
comment on function api.set_user_password(uuid, text) is
    'Store a user''s argon2 password hash (admin; hashed by the gateway''s POST /api/users/{id}/password) and end '
    'the user''s sessions. PT403 FORBIDDEN, PT404 USER_NOT_FOUND, PT400 INVALID_PASSWORD_HASH.';
