-- Staff users: api.create_user, api.update_user, api.list_users. Passwords are set by the gateway (argon2,
-- outside SQL); password_hash is never selected here. Changing what a user may do (role, branches,
-- counters) or disabling them bumps token_version so the gateway rejects their older tokens at once.

-- api.create_user: create a staff user of the caller's tenant (no password yet: the gateway sets it).
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, those of qms.validate_user, PT409 USER_EXISTS (same email,
-- case-insensitive). Not idempotent. No explicit locks.
create or replace function api.create_user(
    email text,
    display_name text,
    role text,
    branch_ids uuid[] default null,
    counter_ids uuid[] default null
) returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_email text := lower(btrim(create_user.email));
    v_branch_ids uuid[] := qms.uuid_set(create_user.branch_ids);
    v_counter_ids uuid[] := qms.uuid_set(create_user.counter_ids);
    v_user_id uuid;
    v_user jsonb;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    perform qms.validate_user(v_email, create_user.display_name, create_user.role, v_branch_ids, v_counter_ids);
    begin
        insert into qms.users (tenant_id, email, display_name, role, branch_ids, counter_ids)
        values (v_tenant, v_email, btrim(create_user.display_name), create_user.role, v_branch_ids, v_counter_ids)
        returning user_id into v_user_id;
    exception when unique_violation then
        perform qms.fail(409, 'USER_EXISTS', format('a user with email %s already exists', v_email));
    end;
    v_user := qms.user_json(v_tenant, v_user_id);
    perform qms.audit_write('user.create', 'user', v_user_id::text, null, v_user);
    return v_user;
end
$$;
comment on function api.create_user(text, text, text, uuid[], uuid[]) is
    'Create a staff user (admin); never returns password_hash. PT400 INVALID_*, BRANCH_SCOPE_REQUIRED, '
    'PT404 BRANCH_NOT_FOUND, PT409 USER_EXISTS.';

-- api.update_user: change a user; null leaves a field unchanged, [] clears branch_ids (tenant-wide admin) or
-- counter_ids (any counter of the branches). is_active=false disables the user. A change of role, branches or
-- counters, or disabling, bumps token_version (the gateway then refuses older tokens).
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, those of qms.validate_user, PT404 USER_NOT_FOUND,
-- PT409 USER_EXISTS. Locking: the user row. Idempotent (a repeated call bumps nothing).
create or replace function api.update_user(
    user_id uuid,
    email text default null,
    display_name text default null,
    role text default null,
    branch_ids uuid[] default null,
    counter_ids uuid[] default null,
    is_active boolean default null
) returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_old record;
    v_email text;
    v_display_name text;
    v_role text;
    v_branch_ids uuid[];
    v_counter_ids uuid[];
    v_is_active boolean;
    v_bump boolean;
    v_before jsonb;
    v_after jsonb;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    select u.email, u.display_name, u.role, u.branch_ids, u.counter_ids, u.is_active into v_old
    from qms.users u
    where u.tenant_id = v_tenant and u.user_id = update_user.user_id
    for update;
    if not found then
        perform qms.fail(404, 'USER_NOT_FOUND', 'user not found');
    end if;
    v_email := coalesce(lower(btrim(update_user.email)), v_old.email);
    v_display_name := coalesce(update_user.display_name, v_old.display_name);
    v_role := coalesce(update_user.role, v_old.role);
    v_branch_ids := case when update_user.branch_ids is null then v_old.branch_ids
                         else qms.uuid_set(update_user.branch_ids) end;
    v_counter_ids := case when update_user.counter_ids is null then v_old.counter_ids
                          else qms.uuid_set(update_user.counter_ids) end;
    v_is_active := coalesce(update_user.is_active, v_old.is_active);
    perform qms.validate_user(v_email, v_display_name, v_role, v_branch_ids, v_counter_ids);
    v_bump := v_role <> v_old.role
              or v_branch_ids is distinct from v_old.branch_ids
              or v_counter_ids is distinct from v_old.counter_ids
              or (v_old.is_active and not v_is_active);
    v_before := qms.user_json(v_tenant, update_user.user_id);
    begin
        update qms.users u set
            email = v_email,
            display_name = btrim(v_display_name),
            role = v_role,
            branch_ids = v_branch_ids,
            counter_ids = v_counter_ids,
            is_active = v_is_active,
            token_version = u.token_version + case when v_bump then 1 else 0 end,
            updated_at = now()
        where u.tenant_id = v_tenant and u.user_id = update_user.user_id;
    exception when unique_violation then
        perform qms.fail(409, 'USER_EXISTS', format('a user with email %s already exists', v_email));
    end;
    v_after := qms.user_json(v_tenant, update_user.user_id);
    if v_after is null then
        -- Only a branch-scoped admin can lose sight of a user it just updated; validate_user prevents that.
        perform qms.fail(403, 'FORBIDDEN', 'the change would move the user out of your scope');
    end if;
    perform qms.audit_write('user.update', 'user', update_user.user_id::text, v_before, v_after);
    return v_after;
end
$$;
comment on function api.update_user(uuid, text, text, text, uuid[], uuid[], boolean) is
    'Update a user (admin); null leaves a field unchanged; role/scope changes and disabling bump token_version. '
    'PT404 USER_NOT_FOUND, PT400 INVALID_*, PT409 USER_EXISTS.';

-- api.list_users: users visible to the caller (admins: the tenant or their branches; supervisors: users of
-- their branches), by email. Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED. Read-only.
create or replace function api.list_users() returns jsonb
    language plpgsql stable
as $$
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_admin', 'qms_supervisor');
    v_tenant := qms.require_tenant();
    return coalesce((
        select jsonb_agg(qms.user_json(u.tenant_id, u.user_id) order by u.email, u.user_id)
        from qms.users u
        where u.tenant_id = v_tenant), '[]'::jsonb);
end
$$;
comment on function api.list_users() is 'Users visible to the caller (never password_hash), by email.';
