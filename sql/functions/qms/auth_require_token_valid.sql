-- qms.auth_require_token_valid: the gateway's per-request token check as a statement that raises, so the
-- gateway can send check, `set_config('role', …)` and the api call in one pipeline (one round trip): when
-- the token is revoked the check fails and the database skips the rest of the pipeline, so the call never
-- runs. The rules are qms.auth_token_valid's (user/device active, token_version = tv, workers always).
-- Runs before `set role`, as qms_authenticator (security definer: `set role` itself stays a separate
-- statement, Postgres refuses it inside a security definer function).
-- Transition: none (a device's last_seen_at may be recorded, see qms.auth_token_valid).
-- Errors: PT401 TOKEN_REVOKED (account or tenant disabled, device revoked, token_version changed).
-- Idempotent. Locking: none beyond qms.auth_token_valid's primary-key lookups.
create or replace function qms.auth_require_token_valid(p_tenant_id uuid, p_sub text, p_role text, p_tv integer)
    returns void
    language plpgsql
    security definer
    set search_path = ''
as $$
begin
    if not qms.auth_token_valid(p_tenant_id, p_sub, p_role, p_tv) then
        perform qms.fail(401, 'TOKEN_REVOKED',
                         'this token is no longer valid (account disabled, device revoked or token version changed)',
                         'Log in again (users) or issue a new device token (admins).');
    end if;
end
$$;
comment on function qms.auth_require_token_valid(uuid, text, text, integer) is
    'Per-request token check that raises PT401 TOKEN_REVOKED unless qms.auth_token_valid is true. '
    'Gateway (qms_authenticator) only.';

-- Grants live here (not in sql/policies/api_auth_grants.sql) so that the function and its only caller's
-- grant land together; same rule as the other qms.auth_* functions: qms_authenticator only.
revoke all on function qms.auth_require_token_valid(uuid, text, text, integer) from public;
grant execute on function qms.auth_require_token_valid(uuid, text, text, integer) to qms_authenticator;
