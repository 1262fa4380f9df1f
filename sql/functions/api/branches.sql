-- Branches: api.create_branch, api.update_branch, api.list_branches, api.get_branch, plus the input guards
-- shared by the admin functions (opening hours, timezone, short codes).

-- qms.validate_hours: opening hours are {"mon": [["08:00","12:00"], ["13:00","15:00"]], ...}; days mon..sun,
-- slots "HH:MM" (end may be "24:00"), each slot start < end, slots of a day ascending and not overlapping.
-- {} (or null) means always open. Returns the hours to store ({} for null).
-- Errors: PT400 INVALID_HOURS. Immutable, no locks.
create or replace function qms.validate_hours(p_hours jsonb) returns jsonb
    language plpgsql immutable
as $$
declare
    v_day text;
    v_slots jsonb;
    v_slot jsonb;
    v_prev_end text;
    v_bad text;
begin
    if p_hours is null then
        return '{}'::jsonb;
    end if;
    if jsonb_typeof(p_hours) <> 'object' then
        v_bad := 'hours must be a JSON object';
    else
        <<days>>
        for v_day, v_slots in select e.key, e.value from jsonb_each(p_hours) e loop
            if not v_day = any (array['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) then
                v_bad := format('unknown day %s', v_day);
            elsif jsonb_typeof(v_slots) <> 'array' then
                v_bad := format('%s must be an array of ["HH:MM","HH:MM"] slots', v_day);
            else
                v_prev_end := null;
                for v_slot in select s from jsonb_array_elements(v_slots) s loop
                    if jsonb_typeof(v_slot) <> 'array' or jsonb_array_length(v_slot) <> 2 then
                        v_bad := format('%s: a slot must be ["HH:MM","HH:MM"]', v_day);
                    elsif jsonb_typeof(v_slot -> 0) <> 'string' or jsonb_typeof(v_slot -> 1) <> 'string'
                          or (v_slot ->> 0) !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'
                          or (v_slot ->> 1) !~ '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$' then
                        v_bad := format('%s: times must be "HH:MM"', v_day);
                    elsif (v_slot ->> 0) >= (v_slot ->> 1) then
                        v_bad := format('%s: slot %s ends before it starts', v_day, v_slot);
                    elsif (v_slot ->> 0) < v_prev_end then
                        v_bad := format('%s: slots must be ascending and must not overlap', v_day);
                    end if;
                    exit days when v_bad is not null;
                    v_prev_end := v_slot ->> 1;
                end loop;
            end if;
            exit days when v_bad is not null;
        end loop;
    end if;
    if v_bad is not null then
        perform qms.fail(400, 'INVALID_HOURS', 'invalid opening hours: ' || v_bad,
                         'Use {"mon": [["08:00","15:00"]], ...} with days mon..sun; {} means always open.');
    end if;
    return p_hours;
end
$$;
comment on function qms.validate_hours(jsonb) is
    'Validate opening hours JSON ({"mon":[["08:00","15:00"]],...}); PT400 INVALID_HOURS. Null gives {}.';

-- qms.validate_timezone: the name must be an IANA zone known to the server. Errors: PT400 INVALID_TIMEZONE.
create or replace function qms.validate_timezone(p_timezone text) returns void
    language plpgsql stable
as $$
begin
    if p_timezone is null or not exists (select 1 from pg_catalog.pg_timezone_names z where z.name = p_timezone) then
        perform qms.fail(400, 'INVALID_TIMEZONE', format('unknown timezone %s', coalesce(p_timezone, 'null')),
                         'Use an IANA name such as Asia/Jakarta or UTC.');
    end if;
end
$$;
comment on function qms.validate_timezone(text) is 'PT400 INVALID_TIMEZONE unless the name is in pg_timezone_names.';

-- qms.validate_name: display names of admin objects: 1..p_max characters after trimming.
-- Errors: PT400 INVALID_NAME. Returns the trimmed name.
create or replace function qms.validate_name(p_name text, p_max integer default 200) returns text
    language plpgsql immutable
as $$
begin
    if p_name is null or length(btrim(p_name)) not between 1 and p_max then
        perform qms.fail(400, 'INVALID_NAME', format('name must be 1 to %s characters', p_max));
    end if;
    return btrim(p_name);
end
$$;
comment on function qms.validate_name(text, integer) is 'Trimmed name, or PT400 INVALID_NAME when empty/too long.';

-- qms.validate_code: optional short codes of branches and services: 1..32 letters, digits, "_" or "-".
-- '' means "no code" (null). Errors: PT400 INVALID_CODE.
create or replace function qms.validate_code(p_code text) returns text
    language plpgsql immutable
as $$
begin
    if nullif(btrim(p_code), '') is not null and btrim(p_code) !~ '^[A-Za-z0-9_-]{1,32}$' then
        perform qms.fail(400, 'INVALID_CODE', 'code must be 1 to 32 letters, digits, "_" or "-"');
    end if;
    return nullif(btrim(p_code), '');
end
$$;
comment on function qms.validate_code(text) is 'Trimmed code ('''' gives null), or PT400 INVALID_CODE.';

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

-- qms.require_branch: the branch must exist in the caller's tenant and scope (RLS decides visibility).
-- Errors: PT404 BRANCH_NOT_FOUND. Returns the branch id. No locks.
create or replace function qms.require_branch(p_branch_id uuid) returns uuid
    language plpgsql stable
as $$
begin
    if p_branch_id is null or not exists (
        select 1 from qms.branches b where b.tenant_id = qms.current_tenant_id() and b.branch_id = p_branch_id) then
        perform qms.fail(404, 'BRANCH_NOT_FOUND', 'branch not found',
                         'The branch id is unknown or outside your tenant or branch scope.');
    end if;
    return p_branch_id;
end
$$;
comment on function qms.require_branch(uuid) is
    'The branch id when the caller can see that branch; PT404 BRANCH_NOT_FOUND otherwise.';
