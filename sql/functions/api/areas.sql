-- Areas (floors / zones of a branch): api.create_area, api.update_area, api.list_areas. The guard
-- qms.require_area that checks an optional area id against a branch is in sql/functions/qms/require_scope.sql.

-- api.create_area: create an area in a branch.
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_NAME, PT404 BRANCH_NOT_FOUND,
-- PT409 AREA_EXISTS (same name in the branch). Not idempotent. No explicit locks.
create or replace function api.create_area(branch_id uuid, name text) returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_name text;
    v_row qms.areas;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    v_name := qms.validate_name(create_area.name);
    perform qms.require_branch(create_area.branch_id);
    begin
        insert into qms.areas (tenant_id, branch_id, name) values (v_tenant, create_area.branch_id, v_name)
        returning * into v_row;
    exception when unique_violation then
        perform qms.fail(409, 'AREA_EXISTS', format('an area named %s already exists in this branch', v_name));
    end;
    perform qms.audit_write('area.create', 'area', v_row.area_id::text, null, to_jsonb(v_row));
    return to_jsonb(v_row);
end
$$;
comment on function api.create_area(uuid, text) is
    'Create an area in a branch (admin). PT404 BRANCH_NOT_FOUND, PT400 INVALID_NAME, PT409 AREA_EXISTS.';

-- api.update_area: rename or (de)activate an area; null leaves a field unchanged.
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_NAME, PT404 AREA_NOT_FOUND, PT409 AREA_EXISTS.
-- Locking: the area row. Idempotent.
create or replace function api.update_area(area_id uuid, name text default null, is_active boolean default null)
    returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_before qms.areas;
    v_after qms.areas;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    if update_area.name is not null then
        perform qms.validate_name(update_area.name);
    end if;
    select * into v_before from qms.areas a
    where a.tenant_id = v_tenant and a.area_id = update_area.area_id
    for update;
    if not found then
        perform qms.fail(404, 'AREA_NOT_FOUND', 'area not found');
    end if;
    begin
        update qms.areas a set
            name = coalesce(btrim(update_area.name), a.name),
            is_active = coalesce(update_area.is_active, a.is_active),
            updated_at = now()
        where a.tenant_id = v_tenant and a.area_id = update_area.area_id
        returning * into v_after;
    exception when unique_violation then
        perform qms.fail(409, 'AREA_EXISTS', format('an area named %s already exists in this branch',
                                                    btrim(update_area.name)));
    end;
    perform qms.audit_write('area.update', 'area', v_after.area_id::text, to_jsonb(v_before), to_jsonb(v_after));
    return to_jsonb(v_after);
end
$$;
comment on function api.update_area(uuid, text, boolean) is
    'Update an area (admin); null leaves a field unchanged. PT404 AREA_NOT_FOUND, PT409 AREA_EXISTS.';

-- api.list_areas: visible areas, optionally of one branch. Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED,
-- PT404 BRANCH_NOT_FOUND (filter on an invisible branch). Read-only.
create or replace function api.list_areas(branch_id uuid default null) returns jsonb
    language plpgsql stable
as $$
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_admin', 'qms_supervisor', 'qms_agent');
    v_tenant := qms.require_tenant();
    if list_areas.branch_id is not null then
        perform qms.require_branch(list_areas.branch_id);
    end if;
    return coalesce((
        select jsonb_agg(to_jsonb(a) order by a.name, a.area_id)
        from qms.areas a
        where a.tenant_id = v_tenant
          and (list_areas.branch_id is null or a.branch_id = list_areas.branch_id)), '[]'::jsonb);
end
$$;
comment on function api.list_areas(uuid) is 'Areas visible to the caller, optionally of one branch, by name.';
