-- qms.set_user_password_hash: store an argon2 hash computed outside SQL (the CLI or the gateway hash it).
-- Owner/DBA only. Bumps token_version and revokes the user's refresh tokens, so a password change logs out
-- every session at once. Errors: PT400 INVALID_PASSWORD_HASH (not an argon2 PHC string), PT404
-- USER_NOT_FOUND. Idempotent apart from the token_version bump. Locks the user row.
create or replace function qms.set_user_password_hash(p_tenant_id uuid, p_user_id uuid, p_hash text)
    returns void
    language plpgsql
    security definer
    set search_path = ''
as $$
begin
    if p_hash is null or p_hash !~ '^\$argon2(id|i|d)\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$' then
        perform qms.fail(400, 'INVALID_PASSWORD_HASH', 'the password hash must be an argon2 PHC string',
                         'Hash the password with argon2 (argon2-cffi PasswordHasher) and pass the result.');
    end if;
    update qms.users
    set password_hash = p_hash, token_version = token_version + 1, updated_at = now()
    where tenant_id = p_tenant_id and user_id = p_user_id;
    if not found then
        perform qms.fail(404, 'USER_NOT_FOUND', 'no such user in this tenant');
    end if;
    update qms.refresh_tokens set revoked_at = now()
    where tenant_id = p_tenant_id and user_id = p_user_id and revoked_at is null;
end
$$;
comment on function qms.set_user_password_hash(uuid, uuid, text) is
    'Set a user''s argon2 password hash (owner/DBA only); bumps token_version and revokes refresh tokens. '
    'PT400 INVALID_PASSWORD_HASH, PT404 USER_NOT_FOUND.';
