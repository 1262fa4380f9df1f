-- api.set_counter_status: an agent opens, pauses or closes a counter. A counter on break or closed gets
-- nothing from api.call_next (reason counter_unavailable).
-- Transition: counter status available | break | closed (any to any). No ticket event.
-- Errors: PT400 INVALID_COUNTER_STATUS, PT404 COUNTER_NOT_FOUND, PT403 COUNTER_FORBIDDEN,
--   PT409 IDEMPOTENCY_KEY_REUSED, PT401 TENANT_REQUIRED.
-- Audit: a change by a supervisor or admin (an intervention) is written to audit.log as counter.status.
-- Idempotency: optional request_id replays the stored counter. Locking: the counter row (update).
create or replace function api.set_counter_status(counter_id uuid, status text, request_id uuid default null)
    returns jsonb
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
    v_replay jsonb;
    v_counter qms.counters;
    v_before text;
begin
    if set_counter_status.status is null or set_counter_status.status not in ('available', 'break', 'closed') then
        perform qms.fail(400, 'INVALID_COUNTER_STATUS', format('unknown counter status %s', set_counter_status.status),
                         'Use available, break or closed.');
    end if;
    v_tenant := qms.require_tenant();
    if set_counter_status.request_id is not null then
        v_replay := qms.idempotency_begin(set_counter_status.request_id, 'set_counter_status',
            jsonb_build_object('counter_id', set_counter_status.counter_id, 'status', set_counter_status.status));
        if v_replay is not null then
            return v_replay;
        end if;
    end if;
    -- Update first (RLS: the UPDATE policy only lets through counters the caller may operate); only when
    -- nothing was updated does a read tell COUNTER_FORBIDDEN (visible) from COUNTER_NOT_FOUND.
    select c.status into v_before from qms.counters c
    where c.tenant_id = v_tenant and c.counter_id = set_counter_status.counter_id;
    update qms.counters c set status = set_counter_status.status::qms.counter_status, updated_at = now()
     where c.tenant_id = v_tenant and c.counter_id = set_counter_status.counter_id
    returning * into v_counter;
    if not found then
        perform qms.fail_counter_unreachable(v_tenant, set_counter_status.counter_id);
    end if;
    perform qms.require_counter_use(v_counter.branch_id, v_counter.counter_id);
    -- A supervisor or admin changing a counter is an intervention on the floor: audited.
    if qms.current_role_name() in ('qms_supervisor', 'qms_admin') then
        perform qms.audit_write('counter.status', 'counter', v_counter.counter_id::text,
                                jsonb_build_object('status', v_before), jsonb_build_object('status', v_counter.status));
    end if;
    return qms.idempotency_finish(set_counter_status.request_id, jsonb_build_object(
        'counter_id', v_counter.counter_id, 'tenant_id', v_counter.tenant_id, 'branch_id', v_counter.branch_id,
        'area_id', v_counter.area_id, 'name', v_counter.name, 'status', v_counter.status,
        'is_active', v_counter.is_active, 'updated_at', v_counter.updated_at));
end
$$;
comment on function api.set_counter_status(uuid, text, uuid) is
    'Set a counter available, break or closed; returns the counter. PT400 INVALID_COUNTER_STATUS, '
    'PT404 COUNTER_NOT_FOUND, PT403 COUNTER_FORBIDDEN.';
