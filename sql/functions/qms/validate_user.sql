-- Checks of a staff user, shared by api.create_user and api.update_user, and the normalised form
-- of their branch and counter scopes.

-- qms.uuid_set: sorted distinct ids, null for null or an empty array (how scopes are stored). Immutable.
create or replace function qms.uuid_set(p_ids uuid[]) returns uuid[]
    language sql immutable parallel safe
as $$
    select case when cardinality(p_ids) > 0
                then (select array_agg(distinct x order by x) from unnest(p_ids) x where x is not null) end
$$;
comment on function qms.uuid_set(uuid[]) is 'Sorted distinct uuids; null for null or empty input.';

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
