-- Services of a branch: api.create_service, api.update_service, api.list_services. The field checks both
-- writers share are qms.validate_service (sql/functions/qms/validate_service.sql).

-- api.create_service: create a service (a queue) in a branch; the prefix is upper-cased.
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_* (see qms.validate_service; name and prefix
-- are required), PT404 BRANCH_NOT_FOUND / AREA_NOT_FOUND, PT400 AREA_NOT_IN_BRANCH,
-- PT409 SERVICE_EXISTS (same name in the branch). Not idempotent. No explicit locks.
create or replace function api.create_service(
    branch_id uuid,
    name text,
    prefix text,
    sla_minutes integer default 15,
    code text default null,
    capacity integer default null,
    hours jsonb default null,
    area_id uuid default null
) returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_row qms.services;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    perform qms.validate_name(create_service.name);
    if create_service.prefix is null then
        perform qms.fail(400, 'INVALID_PREFIX', 'prefix is required');
    end if;
    perform qms.validate_service(create_service.name, create_service.prefix,
                                 coalesce(create_service.sla_minutes, 15), create_service.code,
                                 create_service.capacity, create_service.hours);
    perform qms.require_branch(create_service.branch_id);
    perform qms.require_area(create_service.branch_id, create_service.area_id);
    begin
        insert into qms.services (tenant_id, branch_id, name, code, prefix, sla_minutes, capacity, hours, area_id)
        values (v_tenant, create_service.branch_id, btrim(create_service.name), qms.validate_code(create_service.code),
                upper(btrim(create_service.prefix)), coalesce(create_service.sla_minutes, 15),
                create_service.capacity, qms.validate_hours(create_service.hours), create_service.area_id)
        returning * into v_row;
    exception when unique_violation then
        perform qms.fail(409, 'SERVICE_EXISTS',
                         format('a service named %s already exists in this branch', btrim(create_service.name)));
    end;
    perform qms.audit_write('service.create', 'service', v_row.service_id::text, null, to_jsonb(v_row));
    return to_jsonb(v_row);
end
$$;
comment on function api.create_service(uuid, text, text, integer, text, integer, jsonb, uuid) is
    'Create a service in a branch (admin). PT400 INVALID_*, PT404 BRANCH_NOT_FOUND/AREA_NOT_FOUND, PT409 SERVICE_EXISTS.';

-- api.update_service: change a service; null leaves a field unchanged ('' clears the code).
-- Errors: as create_service, plus PT404 SERVICE_NOT_FOUND. Locking: the service row. Idempotent.
create or replace function api.update_service(
    service_id uuid,
    name text default null,
    prefix text default null,
    sla_minutes integer default null,
    code text default null,
    capacity integer default null,
    hours jsonb default null,
    area_id uuid default null,
    is_active boolean default null
) returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_before qms.services;
    v_after qms.services;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    perform qms.validate_service(update_service.name, update_service.prefix, update_service.sla_minutes,
                                 update_service.code, update_service.capacity, update_service.hours);
    select * into v_before from qms.services s
    where s.tenant_id = v_tenant and s.service_id = update_service.service_id
    for update;
    if not found then
        perform qms.fail(404, 'SERVICE_NOT_FOUND', 'service not found');
    end if;
    perform qms.require_area(v_before.branch_id, update_service.area_id);
    begin
        update qms.services s set
            name = coalesce(btrim(update_service.name), s.name),
            prefix = coalesce(upper(btrim(update_service.prefix)), s.prefix),
            sla_minutes = coalesce(update_service.sla_minutes, s.sla_minutes),
            code = case when update_service.code is null then s.code else nullif(btrim(update_service.code), '') end,
            capacity = coalesce(update_service.capacity, s.capacity),
            hours = coalesce(update_service.hours, s.hours),
            area_id = coalesce(update_service.area_id, s.area_id),
            is_active = coalesce(update_service.is_active, s.is_active),
            updated_at = now()
        where s.tenant_id = v_tenant and s.service_id = update_service.service_id
        returning * into v_after;
    exception when unique_violation then
        perform qms.fail(409, 'SERVICE_EXISTS',
                         format('a service named %s already exists in this branch', btrim(update_service.name)));
    end;
    perform qms.audit_write('service.update', 'service', v_after.service_id::text, to_jsonb(v_before),
                            to_jsonb(v_after));
    return to_jsonb(v_after);
end
$$;
comment on function api.update_service(uuid, text, text, integer, text, integer, jsonb, uuid, boolean) is
    'Update a service (admin); null leaves a field unchanged. PT404 SERVICE_NOT_FOUND, PT400 INVALID_*, PT409 SERVICE_EXISTS.';

-- api.list_services: visible services (RLS: tenant and branch scope), optionally of one branch.
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT404 BRANCH_NOT_FOUND. Read-only.
create or replace function api.list_services(branch_id uuid default null) returns jsonb
    language plpgsql stable
as $$
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_admin', 'qms_supervisor', 'qms_agent', 'qms_device');
    v_tenant := qms.require_tenant();
    if list_services.branch_id is not null then
        perform qms.require_branch(list_services.branch_id);
    end if;
    return coalesce((
        select jsonb_agg(to_jsonb(s) order by s.name, s.service_id)
        from qms.services s
        where s.tenant_id = v_tenant
          and (list_services.branch_id is null or s.branch_id = list_services.branch_id)), '[]'::jsonb);
end
$$;
comment on function api.list_services(uuid) is 'Services visible to the caller, optionally of one branch, by name.';
