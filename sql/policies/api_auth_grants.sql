-- Grants of the gateway's auth functions. The qms.auth_* functions are for qms_authenticator only (it is
-- NOINHERIT, so it needs its own usage on schema qms); set_user_password_hash is owner/DBA only.
grant usage on schema qms to qms_authenticator;

revoke all on function qms.auth_lookup_user(text, text) from public;
revoke all on function qms.auth_issue_refresh(uuid, uuid, bytea, uuid, timestamptz, boolean, text, text) from public;
revoke all on function qms.auth_rotate_refresh(uuid, bytea, bytea, timestamptz) from public;
revoke all on function qms.auth_revoke_refresh(uuid, bytea) from public;
revoke all on function qms.auth_token_valid(uuid, text, text, integer) from public;
revoke all on function qms.set_user_password_hash(uuid, uuid, text) from public;
revoke all on function qms.auth_login_locked(text, text, text) from public;
revoke all on function qms.auth_login_failed(text, text, text, text, text, integer, integer, integer, integer, integer)
    from public;
revoke all on function qms.auth_login_succeeded(uuid, text) from public;

grant execute on function qms.auth_lookup_user(text, text) to qms_authenticator;
grant execute on function qms.auth_issue_refresh(uuid, uuid, bytea, uuid, timestamptz, boolean, text, text)
    to qms_authenticator;
grant execute on function qms.auth_rotate_refresh(uuid, bytea, bytea, timestamptz) to qms_authenticator;
grant execute on function qms.auth_revoke_refresh(uuid, bytea) to qms_authenticator;
grant execute on function qms.auth_token_valid(uuid, text, text, integer) to qms_authenticator;
grant execute on function qms.auth_login_locked(text, text, text) to qms_authenticator;
grant execute on function qms.auth_login_failed(text, text, text, text, text, integer, integer, integer, integer,
    integer) to qms_authenticator;
grant execute on function qms.auth_login_succeeded(uuid, text) to qms_authenticator;

revoke all on function api.auth_whoami() from public;
grant execute on function api.auth_whoami() to qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin,
    qms_worker, qms_analyst;
revoke all on function api.auth_device_token_claims(uuid) from public;
grant execute on function api.auth_device_token_claims(uuid) to qms_admin;
