-- Login throttle (docs/http.md#login-throttle, docs/adr/0008-login-throttle-and-input-limits.md).
-- The gateway, as qms_authenticator, asks qms.auth_login_locked before it checks a password, reports each
-- failed password with qms.auth_login_failed and each success with qms.auth_login_succeeded. The limits come
-- from the gateway's settings (QMS_LOGIN_*), passed with every call. All three are security definer (they
-- read and write qms.login_throttle and audit.log, which no request role may) and executable by
-- qms_authenticator only. A tenant slug that names no tenant leaves no trace (no row, no lockout): there is
-- no account to guess there.

-- qms.auth_login_locked: seconds until the account (tenant slug, e-mail) and the client address may try
-- again; 0 when neither is locked. Transition: none. Errors: none. Idempotent, no locks.
create or replace function qms.auth_login_locked(p_tenant_slug text, p_email text, p_ip text)
    returns integer
    language sql stable
    security definer
    set search_path = ''
as $$
    select coalesce(ceil(extract(epoch from max(l.locked_until) - now()))::integer, 0)
    from qms.tenants t
    join qms.login_throttle l on l.tenant_id = t.tenant_id
    where t.slug = lower(btrim(p_tenant_slug))
      and l.locked_until > now()
      and ((l.scope = 'account' and l.subject = left(lower(btrim(p_email)), 320))
           or (l.scope = 'ip' and l.subject = left(p_ip, 320)))
$$;
comment on function qms.auth_login_locked(text, text, text) is
    'Seconds until this account and client address may try to log in again (0: not locked). Gateway only.';

-- qms.auth_login_failed: count one failed login against the account and the client address of a tenant.
-- Transition: a subject whose failures in the current window reach its limit (p_max_account /
-- p_max_ip) is locked for p_lockout_seconds * 2^(earlier lockouts), at most p_lockout_max_seconds; its
-- failure count starts again at 0, and an audit.log row (action 'auth.login_locked', actor_role qms_anon,
-- target_type 'account' or 'ip') records the lockout with the client's address and user agent. A subject
-- without a failure for p_window_seconds after its last failure or lockout is forgiven (failures and
-- lockouts back to 0). Returns the seconds of the longest lockout begun by this call (0: none).
-- Errors: none. Not idempotent (one failure per call). Locking: the two throttle rows (upsert), then the
-- tenant's audit chain head when a lockout begins.
create or replace function qms.auth_login_failed(p_tenant_slug text, p_email text, p_ip text, p_user_agent text,
                                                 p_request_id text, p_max_account integer, p_max_ip integer,
                                                 p_window_seconds integer, p_lockout_seconds integer,
                                                 p_lockout_max_seconds integer)
    returns integer
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_tenant uuid;
    v_subject record;
    v_row qms.login_throttle;
    v_max integer;
    v_lock integer;
    v_longest integer := 0;
    v_window interval := make_interval(secs => p_window_seconds);
begin
    select t.tenant_id into v_tenant from qms.tenants t where t.slug = lower(btrim(p_tenant_slug));
    if v_tenant is null then
        return 0;
    end if;
    for v_subject in
        select s.scope, s.subject from (values ('account', left(lower(btrim(p_email)), 320)),
                                               ('ip', left(p_ip, 320))) as s(scope, subject)
        where coalesce(s.subject, '') <> ''
    loop
        insert into qms.login_throttle as l (tenant_id, scope, subject, failures, last_failure_at)
        values (v_tenant, v_subject.scope, v_subject.subject, 1, now())
        on conflict (tenant_id, scope, subject) do update
            set failures = case when greatest(l.last_failure_at, l.locked_until) < now() - v_window then 1
                                else l.failures + 1 end,
                lockouts = case when greatest(l.last_failure_at, l.locked_until) < now() - v_window then 0
                                else l.lockouts end,
                last_failure_at = now()
        returning * into v_row;
        v_max := case v_subject.scope when 'account' then p_max_account else p_max_ip end;
        if v_max > 0 and v_row.failures >= v_max then
            v_lock := least(p_lockout_max_seconds::bigint,
                            p_lockout_seconds::bigint * (2::bigint ^ least(v_row.lockouts, 30))::bigint)::integer;
            update qms.login_throttle
               set failures = 0, lockouts = lockouts + 1, locked_until = now() + make_interval(secs => v_lock)
             where tenant_id = v_tenant and scope = v_subject.scope and subject = v_subject.subject;
            perform qms.audit_append(
                v_tenant, null, 'qms_anon', 'auth.login_locked', v_subject.scope, v_subject.subject, null,
                jsonb_build_object('failures', v_row.failures, 'lockout', v_row.lockouts + 1,
                                   'locked_seconds', v_lock),
                left(p_ip, 100), left(p_user_agent, 300), p_request_id);
            v_longest := greatest(v_longest, v_lock);
        end if;
    end loop;
    return v_longest;
end
$$;
comment on function qms.auth_login_failed(text, text, text, text, text, integer, integer, integer, integer, integer) is
    'Count a failed login against the account and client address; lock (with backoff) and audit at the limit. '
    'Returns the seconds of a lockout begun now (0: none). Gateway only.';

-- qms.auth_login_succeeded: a correct password clears the account's failures and lockout history. The
-- client address keeps its count (one valid account must not reset the guesses made against others).
-- Errors: none. Idempotent. Locking: the account's throttle row.
create or replace function qms.auth_login_succeeded(p_tenant_id uuid, p_email text)
    returns void
    language sql
    security definer
    set search_path = ''
as $$
    delete from qms.login_throttle
    where tenant_id = p_tenant_id and scope = 'account' and subject = left(lower(btrim(p_email)), 320)
$$;
comment on function qms.auth_login_succeeded(uuid, text) is
    'Clear the failed-login count and lockout history of an account after a successful login. Gateway only.';
