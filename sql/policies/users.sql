alter table qms.users enable row level security;
alter table qms.users force row level security;
-- Admins see the tenant's users (a branch-scoped admin those sharing a branch); supervisors the users
-- of their branches; everyone sees their own row.
drop policy if exists users_select_scoped on qms.users;
create policy users_select_scoped on qms.users for select
    using (tenant_id = (select qms.current_tenant_id()) and (
        user_id::text = qms.current_sub()
        or (current_user = 'qms_admin' and ((select qms.current_branch_ids()) is null or branch_ids && (select qms.current_branch_ids())))
        or (current_user = 'qms_supervisor' and branch_ids && (select qms.current_branch_ids()))));
drop policy if exists users_insert_admin on qms.users;
create policy users_insert_admin on qms.users for insert to qms_admin
    with check (tenant_id = (select qms.current_tenant_id())
                and ((select qms.current_branch_ids()) is null or branch_ids <@ (select qms.current_branch_ids())));
drop policy if exists users_update_admin on qms.users;
create policy users_update_admin on qms.users for update to qms_admin
    using (tenant_id = (select qms.current_tenant_id())
           and ((select qms.current_branch_ids()) is null or branch_ids && (select qms.current_branch_ids())))
    with check (tenant_id = (select qms.current_tenant_id())
                and ((select qms.current_branch_ids()) is null or branch_ids <@ (select qms.current_branch_ids())));
revoke all on qms.users from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
-- password_hash is never readable by request roles: login goes through a security definer function.
grant select (tenant_id, user_id, email, display_name, role, branch_ids, counter_ids, is_active, token_version,
              last_login_at, created_at, updated_at)
    on qms.users to qms_agent, qms_supervisor, qms_admin;
grant insert (tenant_id, user_id, email, display_name, role, branch_ids, counter_ids, is_active)
    on qms.users to qms_admin;
grant update (email, display_name, role, branch_ids, counter_ids, is_active, token_version, updated_at)
    on qms.users to qms_admin;
