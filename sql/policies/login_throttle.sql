-- qms.login_throttle: no request role reads or writes it. The qms.auth_login_* functions (security definer,
-- executable by qms_authenticator only) do; RLS is forced, so the owner policy below is what lets them in.
drop policy if exists login_throttle_all_owner on qms.login_throttle;
create policy login_throttle_all_owner on qms.login_throttle for all
    using (current_user = (select r.rolname from pg_catalog.pg_roles r
                           join pg_catalog.pg_class c on c.relowner = r.oid
                           where c.oid = 'qms.login_throttle'::regclass))
    with check (current_user = (select r.rolname from pg_catalog.pg_roles r
                                join pg_catalog.pg_class c on c.relowner = r.oid
                                where c.oid = 'qms.login_throttle'::regclass));

revoke all on qms.login_throttle from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker,
    qms_analyst, qms_authenticator;
