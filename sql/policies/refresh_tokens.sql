-- qms.refresh_tokens: no request role reads or writes it directly. The qms.auth_* functions
-- (security definer, executable by qms_authenticator only) do; their owner bypasses nothing (RLS is
-- forced), so the owner policy below is what lets them in. A user may list their own sessions.
alter table qms.refresh_tokens enable row level security;
alter table qms.refresh_tokens force row level security;

drop policy if exists refresh_tokens_all_owner on qms.refresh_tokens;
create policy refresh_tokens_all_owner on qms.refresh_tokens for all
    using (current_user = (select r.rolname from pg_catalog.pg_roles r
                           join pg_catalog.pg_class c on c.relowner = r.oid
                           where c.oid = 'qms.refresh_tokens'::regclass))
    with check (current_user = (select r.rolname from pg_catalog.pg_roles r
                                join pg_catalog.pg_class c on c.relowner = r.oid
                                where c.oid = 'qms.refresh_tokens'::regclass));

drop policy if exists refresh_tokens_select_self on qms.refresh_tokens;
create policy refresh_tokens_select_self on qms.refresh_tokens for select
    using (tenant_id = (select qms.current_tenant_id()) and user_id::text = qms.current_sub());

revoke all on qms.refresh_tokens from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker,
    qms_analyst, qms_authenticator;
grant select (tenant_id, token_id, family_id, user_id, created_at, expires_at, revoked_at, ip, user_agent)
    on qms.refresh_tokens to qms_agent, qms_supervisor, qms_admin, qms_analyst;
