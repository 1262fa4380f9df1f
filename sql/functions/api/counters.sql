-- Counters (desks / rooms) and their skills: api.create_counter, api.update_counter, api.list_counters.
-- A counter calls tickets of the services mapped to it (qms.counter_services), all of its own branch.

-- api.create_counter: create a counter (status closed) serving service_ids (null or [] = none yet).
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_NAME, PT404 BRANCH_NOT_FOUND / AREA_NOT_FOUND /
-- SERVICE_NOT_FOUND, PT400 AREA_NOT_IN_BRANCH / SERVICE_NOT_IN_BRANCH, PT409 COUNTER_EXISTS (same name in the
-- branch). Not idempotent. No explicit locks.
create or replace function api.create_counter(branch_id uuid, name text, service_ids uuid[], area_id uuid default null)
    returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_name text;
    v_row qms.counters;
    v_counter jsonb;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    v_name := qms.validate_name(create_counter.name, 100);
    perform qms.require_branch(create_counter.branch_id);
    perform qms.require_area(create_counter.branch_id, create_counter.area_id);
    perform qms.require_services_in_branch(create_counter.branch_id, create_counter.service_ids);
    begin
        insert into qms.counters (tenant_id, branch_id, area_id, name)
        values (v_tenant, create_counter.branch_id, create_counter.area_id, v_name)
        returning * into v_row;
    exception when unique_violation then
        perform qms.fail(409, 'COUNTER_EXISTS', format('a counter named %s already exists in this branch', v_name));
    end;
    insert into qms.counter_services (tenant_id, branch_id, counter_id, service_id)
    select distinct v_tenant, v_row.branch_id, v_row.counter_id, x from unnest(create_counter.service_ids) x;
    v_counter := qms.counter_json(v_row);
    perform qms.audit_write('counter.create', 'counter', v_row.counter_id::text, null, v_counter);
    return v_counter;
end
$$;
comment on function api.create_counter(uuid, text, uuid[], uuid) is
    'Create a counter with its services (admin). PT404 BRANCH/AREA/SERVICE_NOT_FOUND, PT400 SERVICE_NOT_IN_BRANCH, '
    'PT409 COUNTER_EXISTS.';

-- api.update_counter: rename, move to an area, (de)activate, or replace the whole service list
-- (service_ids non-null replaces it; [] removes every service). Null leaves a field unchanged. The status
-- (available/break/closed) is the agent's, see api.set_counter_status.
-- Errors: as create_counter, plus PT404 COUNTER_NOT_FOUND. Locking: the counter row. Idempotent.
create or replace function api.update_counter(
    counter_id uuid,
    name text default null,
    service_ids uuid[] default null,
    area_id uuid default null,
    is_active boolean default null
) returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_before_row qms.counters;
    v_before jsonb;
    v_after_row qms.counters;
    v_after jsonb;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    if update_counter.name is not null then
        perform qms.validate_name(update_counter.name, 100);
    end if;
    select * into v_before_row from qms.counters c
    where c.tenant_id = v_tenant and c.counter_id = update_counter.counter_id
    for update;
    if not found then
        perform qms.fail(404, 'COUNTER_NOT_FOUND', 'counter not found');
    end if;
    perform qms.require_area(v_before_row.branch_id, update_counter.area_id);
    perform qms.require_services_in_branch(v_before_row.branch_id, update_counter.service_ids);
    v_before := qms.counter_json(v_before_row);
    begin
        update qms.counters c set
            name = coalesce(btrim(update_counter.name), c.name),
            area_id = coalesce(update_counter.area_id, c.area_id),
            is_active = coalesce(update_counter.is_active, c.is_active),
            updated_at = now()
        where c.tenant_id = v_tenant and c.counter_id = update_counter.counter_id
        returning * into v_after_row;
    exception when unique_violation then
        perform qms.fail(409, 'COUNTER_EXISTS',
                         format('a counter named %s already exists in this branch', btrim(update_counter.name)));
    end;
    if update_counter.service_ids is not null then
        delete from qms.counter_services cs
        where cs.tenant_id = v_tenant and cs.counter_id = update_counter.counter_id
          and not cs.service_id = any (update_counter.service_ids);
        insert into qms.counter_services (tenant_id, branch_id, counter_id, service_id)
        select distinct v_tenant, v_after_row.branch_id, v_after_row.counter_id, x from unnest(update_counter.service_ids) x
        on conflict do nothing;
    end if;
    v_after := qms.counter_json(v_after_row);
    perform qms.audit_write('counter.update', 'counter', v_after_row.counter_id::text, v_before, v_after);
    return v_after;
end
$$;
comment on function api.update_counter(uuid, text, uuid[], uuid, boolean) is
    'Update a counter (admin), service_ids replaces its services. PT404 COUNTER_NOT_FOUND, PT400 SERVICE_NOT_IN_BRANCH, '
    'PT409 COUNTER_EXISTS.';

-- api.list_counters: visible counters with service_ids and status, optionally of one branch.
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT404 BRANCH_NOT_FOUND. Read-only.
create or replace function api.list_counters(branch_id uuid default null) returns jsonb
    language plpgsql stable
as $$
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_admin', 'qms_supervisor', 'qms_agent');
    v_tenant := qms.require_tenant();
    if list_counters.branch_id is not null then
        perform qms.require_branch(list_counters.branch_id);
    end if;
    return coalesce((
        select jsonb_agg(qms.counter_json(c) order by c.name, c.counter_id)
        from qms.counters c
        where c.tenant_id = v_tenant
          and (list_counters.branch_id is null or c.branch_id = list_counters.branch_id)), '[]'::jsonb);
end
$$;
comment on function api.list_counters(uuid) is
    'Counters visible to the caller (with service_ids and status), optionally of one branch, by name.';
