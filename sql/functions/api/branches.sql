-- Branches: api.create_branch, api.update_branch, api.list_branches, api.get_branch. The input checks they
-- share with the other admin functions live in sql/functions/qms/validate.sql and require_scope.sql.

-- api.create_branch: create a branch of the caller's tenant.
-- Errors: PT403 FORBIDDEN (not an admin, or a branch-scoped one), PT401 TENANT_REQUIRED, PT400 INVALID_NAME /
-- INVALID_TIMEZONE / INVALID_CODE / INVALID_ADDRESS / INVALID_HOURS, PT409 BRANCH_EXISTS (same code).
-- Not idempotent. No explicit locks.
create or replace function api.create_branch(
    name text,
    timezone text default 'UTC',
    code text default null,
    address text default null,
    hours jsonb default null
) returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_name text;
    v_code text;
    v_hours jsonb;
    v_row qms.branches;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    if qms.current_branch_ids() is not null then
        perform qms.fail(403, 'FORBIDDEN', 'a branch-scoped admin cannot create branches',
                         'Ask a tenant-wide admin.');
    end if;
    v_name := qms.validate_name(create_branch.name);
    v_code := qms.validate_code(create_branch.code);
    v_hours := qms.validate_hours(create_branch.hours);
    perform qms.validate_timezone(create_branch.timezone);
    if length(create_branch.address) > 500 then
        perform qms.fail(400, 'INVALID_ADDRESS', 'address must be at most 500 characters');
    end if;
    begin
        insert into qms.branches (tenant_id, name, code, timezone, address, hours)
        values (v_tenant, v_name, v_code, create_branch.timezone, nullif(btrim(create_branch.address), ''), v_hours)
        returning * into v_row;
    exception when unique_violation then
        perform qms.fail(409, 'BRANCH_EXISTS', format('a branch with code %s already exists', create_branch.code),
                         'Branch codes are unique within a tenant.');
    end;
    perform qms.audit_write('branch.create', 'branch', v_row.branch_id::text, null, to_jsonb(v_row));
    return to_jsonb(v_row);
end
$$;
comment on function api.create_branch(text, text, text, text, jsonb) is
    'Create a branch (admin). Returns the branch. PT400 INVALID_*, PT409 BRANCH_EXISTS, PT403 FORBIDDEN.';

-- api.update_branch: change a branch; a null argument leaves the field unchanged ('' clears code/address).
-- Errors: as create_branch, plus PT404 BRANCH_NOT_FOUND (unknown, other tenant or out of scope).
-- Locking: the branch row (for update). Repeating the same call changes nothing more (idempotent).
create or replace function api.update_branch(
    branch_id uuid,
    name text default null,
    timezone text default null,
    code text default null,
    address text default null,
    hours jsonb default null,
    is_active boolean default null
) returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_before qms.branches;
    v_after qms.branches;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    if update_branch.name is not null then
        perform qms.validate_name(update_branch.name);
    end if;
    perform qms.validate_code(update_branch.code);
    perform qms.validate_hours(update_branch.hours);
    if update_branch.timezone is not null then
        perform qms.validate_timezone(update_branch.timezone);
    end if;
    if length(update_branch.address) > 500 then
        perform qms.fail(400, 'INVALID_ADDRESS', 'address must be at most 500 characters');
    end if;
    select * into v_before from qms.branches b
    where b.tenant_id = v_tenant and b.branch_id = update_branch.branch_id
    for update;
    if not found then
        perform qms.fail(404, 'BRANCH_NOT_FOUND', 'branch not found');
    end if;
    begin
        update qms.branches b set
            name = coalesce(btrim(update_branch.name), b.name),
            timezone = coalesce(update_branch.timezone, b.timezone),
            code = case when update_branch.code is null then b.code else nullif(btrim(update_branch.code), '') end,
            address = case when update_branch.address is null then b.address
                           else nullif(btrim(update_branch.address), '') end,
            hours = coalesce(update_branch.hours, b.hours),
            is_active = coalesce(update_branch.is_active, b.is_active),
            updated_at = now()
        where b.tenant_id = v_tenant and b.branch_id = update_branch.branch_id
        returning * into v_after;
    exception when unique_violation then
        perform qms.fail(409, 'BRANCH_EXISTS', format('a branch with code %s already exists', update_branch.code),
                         'Branch codes are unique within a tenant.');
    end;
    perform qms.audit_write('branch.update', 'branch', v_after.branch_id::text, to_jsonb(v_before), to_jsonb(v_after));
    return to_jsonb(v_after);
end
$$;
comment on function api.update_branch(uuid, text, text, text, text, jsonb, boolean) is
    'Update a branch (admin); null leaves a field unchanged. PT404 BRANCH_NOT_FOUND, PT400 INVALID_*, PT409 BRANCH_EXISTS.';

-- api.list_branches: the branches the caller can see (RLS: tenant and branch scope), by name.
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED. Read-only.
create or replace function api.list_branches() returns jsonb
    language plpgsql stable
as $$
begin
    perform qms.require_role('qms_admin', 'qms_supervisor', 'qms_agent');
    return coalesce((select jsonb_agg(to_jsonb(b) order by b.name, b.branch_id)
                     from qms.branches b where b.tenant_id = qms.require_tenant()), '[]'::jsonb);
end
$$;
comment on function api.list_branches() is 'Branches visible to the caller (array of branch objects, by name).';

-- api.get_branch: one branch. Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT404 BRANCH_NOT_FOUND. Read-only.
create or replace function api.get_branch(branch_id uuid) returns jsonb
    language plpgsql stable
as $$
declare
    v_branch jsonb;
begin
    perform qms.require_role('qms_admin', 'qms_supervisor', 'qms_agent');
    select to_jsonb(b) into v_branch from qms.branches b
    where b.tenant_id = qms.require_tenant() and b.branch_id = get_branch.branch_id;
    if v_branch is null then
        perform qms.fail(404, 'BRANCH_NOT_FOUND', 'branch not found');
    end if;
    return v_branch;
end
$$;
comment on function api.get_branch(uuid) is 'One branch visible to the caller; PT404 BRANCH_NOT_FOUND otherwise.';
