-- Login support for the gateway. Both functions are security definer (they read password hashes and
-- write refresh tokens, which no request role may) and executable by qms_authenticator only: the gateway
-- calls them right after connecting, before any `set role`.

-- qms.auth_lookup_user: the login row of (tenant slug, e-mail), e-mail compared case-insensitively.
-- Zero rows when the tenant or the user does not exist (the gateway answers the same 401 either way).
-- Transition: none. Errors: none. Idempotent, no locks (uses tenants_slug_key and users_email_key).
create or replace function qms.auth_lookup_user(p_tenant_slug text, p_email text)
    returns table (tenant_id uuid, user_id uuid, role text, branch_ids uuid[], counter_ids uuid[],
                   password_hash text, is_active boolean, token_version integer)
    language sql stable
    security definer
    set search_path = ''
as $$
    select u.tenant_id, u.user_id, u.role, u.branch_ids, u.counter_ids, u.password_hash,
           u.is_active and t.is_active, u.token_version
    from qms.tenants t
    join qms.users u on u.tenant_id = t.tenant_id
    where t.slug = lower(btrim(p_tenant_slug))
      and lower(u.email) = lower(btrim(p_email))
$$;
comment on function qms.auth_lookup_user(text, text) is
    'Login lookup by tenant slug and e-mail: ids, role, scope, password hash, active flag, token_version. '
    'Gateway (qms_authenticator) only.';

-- qms.auth_issue_refresh: store a new refresh token (sha256 of it) for a user; with p_login the user's
-- last_login_at is set too. p_family_id groups the rotations of one login.
-- Errors: PT401 USER_DISABLED when the user is missing or inactive. Not idempotent (one row per call).
create or replace function qms.auth_issue_refresh(p_tenant_id uuid, p_user_id uuid, p_token_hash bytea,
                                                  p_family_id uuid, p_expires_at timestamptz,
                                                  p_login boolean default true, p_ip text default null,
                                                  p_user_agent text default null)
    returns uuid
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_token_id uuid;
begin
    if not exists (select 1 from qms.users u join qms.tenants t on t.tenant_id = u.tenant_id
                   where u.tenant_id = p_tenant_id and u.user_id = p_user_id and u.is_active and t.is_active) then
        perform qms.fail(401, 'USER_DISABLED', 'the account is disabled or does not exist');
    end if;
    insert into qms.refresh_tokens (tenant_id, token_hash, family_id, user_id, expires_at, ip, user_agent)
    values (p_tenant_id, p_token_hash, p_family_id, p_user_id, p_expires_at, left(p_ip, 100), left(p_user_agent, 300))
    returning token_id into v_token_id;
    if p_login then
        update qms.users set last_login_at = now() where tenant_id = p_tenant_id and user_id = p_user_id;
    end if;
    return v_token_id;
end
$$;
comment on function qms.auth_issue_refresh(uuid, uuid, bytea, uuid, timestamptz, boolean, text, text) is
    'Store a refresh token hash for a user (login or rotation). PT401 USER_DISABLED. Gateway only.';

-- qms.auth_rotate_refresh: exchange a refresh token for its successor, atomically.
-- Status column: ok | invalid (unknown) | expired | revoked (revoked without a successor: logout, password
-- change, disabled user; the session has ended) | reused (an already rotated token: the whole family is
-- revoked, which commits, so the caller must not raise) | disabled (user or tenant inactive).
-- On ok the old row is revoked and replaced_by the new one, and the user's current claims are returned.
-- Locking: the presented row, for update (two concurrent refreshes with the same token: one wins, the
-- other sees it rotated and revokes the family).
create or replace function qms.auth_rotate_refresh(p_tenant_id uuid, p_old_hash bytea, p_new_hash bytea,
                                                   p_expires_at timestamptz)
    returns table (status text, user_id uuid, role text, branch_ids uuid[], counter_ids uuid[],
                   token_version integer)
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_old qms.refresh_tokens;
    v_user qms.users;
    v_new_id uuid;
begin
    select * into v_old from qms.refresh_tokens r
    where r.tenant_id = p_tenant_id and r.token_hash = p_old_hash for update;
    if not found then
        return query select 'invalid', null::uuid, null::text, null::uuid[], null::uuid[], null::integer;
        return;
    end if;
    if v_old.revoked_at is not null and v_old.replaced_by is null then
        -- Revoked without a successor: logout, or the user was disabled. The session has ended; nothing was
        -- replayed, so this is not reuse.
        return query select 'revoked', v_old.user_id, null::text, null::uuid[], null::uuid[], null::integer;
        return;
    end if;
    if v_old.revoked_at is not null then
        update qms.refresh_tokens r set revoked_at = coalesce(r.revoked_at, now())
        where r.tenant_id = p_tenant_id and r.family_id = v_old.family_id;
        return query select 'reused', v_old.user_id, null::text, null::uuid[], null::uuid[], null::integer;
        return;
    end if;
    if v_old.expires_at <= now() then
        return query select 'expired', v_old.user_id, null::text, null::uuid[], null::uuid[], null::integer;
        return;
    end if;
    select u.* into v_user from qms.users u join qms.tenants t on t.tenant_id = u.tenant_id
    where u.tenant_id = p_tenant_id and u.user_id = v_old.user_id and u.is_active and t.is_active;
    if not found then
        update qms.refresh_tokens r set revoked_at = now()
        where r.tenant_id = p_tenant_id and r.family_id = v_old.family_id and r.revoked_at is null;
        return query select 'disabled', v_old.user_id, null::text, null::uuid[], null::uuid[], null::integer;
        return;
    end if;
    insert into qms.refresh_tokens (tenant_id, token_hash, family_id, user_id, expires_at, ip, user_agent)
    values (p_tenant_id, p_new_hash, v_old.family_id, v_old.user_id, p_expires_at, v_old.ip, v_old.user_agent)
    returning token_id into v_new_id;
    update qms.refresh_tokens r set revoked_at = now(), replaced_by = v_new_id
    where r.tenant_id = p_tenant_id and r.token_hash = p_old_hash;
    return query select 'ok', v_user.user_id, v_user.role, v_user.branch_ids, v_user.counter_ids,
                        v_user.token_version;
end
$$;
comment on function qms.auth_rotate_refresh(uuid, bytea, bytea, timestamptz) is
    'Rotate a refresh token: status ok|invalid|expired|revoked|reused|disabled plus the user''s claims on ok. '
    'Reuse of a rotated token revokes its family. Gateway only.';

-- qms.auth_revoke_refresh: logout. Revokes the presented token's whole family (every rotation of that
-- login). Returns whether a live token was found. Idempotent.
create or replace function qms.auth_revoke_refresh(p_tenant_id uuid, p_token_hash bytea) returns boolean
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_family uuid;
begin
    select r.family_id into v_family from qms.refresh_tokens r
    where r.tenant_id = p_tenant_id and r.token_hash = p_token_hash;
    if not found then
        return false;
    end if;
    update qms.refresh_tokens r set revoked_at = now()
    where r.tenant_id = p_tenant_id and r.family_id = v_family and r.revoked_at is null;
    return found;
end
$$;
comment on function qms.auth_revoke_refresh(uuid, bytea) is
    'Logout: revoke the refresh token family of the presented token; false when unknown or already revoked.';
