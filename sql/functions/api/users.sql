-- Staff users: api.create_user, api.update_user, api.list_users. Passwords are set by the gateway (argon2,
-- outside SQL); password_hash is never selected here. Changing what a user may do (role, branches,
-- counters) or disabling them bumps token_version so the gateway rejects their older tokens at once.

-- qms.uuid_set: sorted distinct ids, null for null or an empty array (how scopes are stored). Immutable.
create or replace function qms.uuid_set(p_ids uuid[]) returns uuid[]
    language sql immutable parallel safe
as $$
    select case when cardinality(p_ids) > 0
                then (select array_agg(distinct x order by x) from unnest(p_ids) x where x is not null) end
$$;
comment on function qms.uuid_set(uuid[]) is 'Sorted distinct uuids; null for null or empty input.';

-- qms.user_json: the user object of the api (never password_hash); null when the row is not visible.
create or replace function qms.user_json(p_tenant_id uuid, p_user_id uuid) returns jsonb
    language sql stable
as $$
    select jsonb_build_object(
        'user_id', u.user_id, 'tenant_id', u.tenant_id, 'email', u.email, 'display_name', u.display_name,
        'role', u.role, 'branch_ids', to_jsonb(u.branch_ids), 'counter_ids', to_jsonb(u.counter_ids),
        'is_active', u.is_active, 'token_version', u.token_version, 'last_login_at', u.last_login_at,
        'created_at', u.created_at, 'updated_at', u.updated_at)
    from qms.users u
    where u.tenant_id = p_tenant_id and u.user_id = p_user_id
$$;
comment on function qms.user_json(uuid, uuid) is 'User object of the api (without password_hash).';

-- qms.validate_user: checks a user's final email, name, role and scope.
-- Errors: PT400 INVALID_EMAIL / INVALID_NAME / INVALID_ROLE / BRANCH_SCOPE_REQUIRED / COUNTER_NOT_IN_SCOPE,
-- PT404 BRANCH_NOT_FOUND / COUNTER_NOT_FOUND, PT403 FORBIDDEN (a branch-scoped admin creating a tenant-wide
-- user). p_branch_ids and p_counter_ids are expected normalised by qms.uuid_set.
create or replace function qms.validate_user(p_email text, p_display_name text, p_role text,
                                             p_branch_ids uuid[], p_counter_ids uuid[]) returns void
    language plpgsql stable
as $$
declare
    v_id uuid;
begin
    if p_email is null or length(p_email) > 254 or p_email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' then
        perform qms.fail(400, 'INVALID_EMAIL', 'email must look like name@example.com');
    end if;
    perform qms.validate_name(p_display_name);
    if p_role is null or not p_role = any (array['agent', 'supervisor', 'admin', 'analyst']) then
        perform qms.fail(400, 'INVALID_ROLE', format('unknown role %s', coalesce(p_role, 'null')),
                         'Roles: agent, supervisor, admin, analyst.');
    end if;
    if p_branch_ids is null and p_role <> 'admin' then
        perform qms.fail(400, 'BRANCH_SCOPE_REQUIRED', format('a %s needs branch_ids', p_role),
                         'Only admins may be tenant-wide; give the branches this user works in.');
    end if;
    if p_branch_ids is null and qms.current_branch_ids() is not null then
        perform qms.fail(403, 'FORBIDDEN', 'a branch-scoped admin cannot create tenant-wide users',
                         'Give branch_ids within your own branches.');
    end if;
    foreach v_id in array coalesce(p_branch_ids, '{}') loop
        perform qms.require_branch(v_id);
    end loop;
    foreach v_id in array coalesce(p_counter_ids, '{}') loop
        if not exists (select 1 from qms.counters c where c.tenant_id = qms.current_tenant_id() and c.counter_id = v_id)
        then
            perform qms.fail(404, 'COUNTER_NOT_FOUND', format('counter %s not found', v_id));
        end if;
        if not exists (select 1 from qms.counters c
                       where c.tenant_id = qms.current_tenant_id() and c.counter_id = v_id
                         and c.branch_id = any (p_branch_ids)) then
            perform qms.fail(400, 'COUNTER_NOT_IN_SCOPE', format('counter %s is outside the user''s branches', v_id),
                             'counter_ids must be counters of the user''s branch_ids.');
        end if;
    end loop;
end
$$;
comment on function qms.validate_user(text, text, text, uuid[], uuid[]) is
    'Validate a user''s final fields and scope: PT400 INVALID_EMAIL/NAME/ROLE, BRANCH_SCOPE_REQUIRED, '
    'COUNTER_NOT_IN_SCOPE; PT404 BRANCH_NOT_FOUND/COUNTER_NOT_FOUND; PT403 FORBIDDEN.';

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
