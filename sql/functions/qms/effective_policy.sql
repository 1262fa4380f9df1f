-- Queue policies are data: defaults, overridden per branch (policies.service_id is null), overridden per
-- service. This file holds the family: the defaults, the validator used by api.set_policy and the
-- effective-policy lookup the queue engine calls on every ticket command.

-- qms.default_policy: the built-in defaults every branch starts from. Immutable, no errors.
create or replace function qms.default_policy() returns jsonb
    language sql immutable parallel safe
as $$
    select '{"called_grace_seconds": 120, "return_to_queue": false, "priority_ratio": 3,
             "number_format": "{prefix}-{n:03}", "cancel_from": ["waiting", "held"], "notify_ahead": 3}'::jsonb
$$;
comment on function qms.default_policy() is 'Built-in queue policy defaults (overridden per branch, then per service).';

-- qms.effective_policy: defaults || branch policy || service policy.
-- Hot path: the engine calls it on every ticket command, so it is one expression with two lookups on the
-- unique index policies (tenant_id, branch_id, service_id). Security definer so any caller of the engine
-- (device, agent, anonymous web customer, worker) gets the same answer without needing a read grant on
-- qms.policies; it only reveals queue settings, never people or tickets. No errors, no locks.
create or replace function qms.effective_policy(p_tenant_id uuid, p_branch_id uuid, p_service_id uuid)
    returns jsonb
    language plpgsql stable parallel safe
    security definer
    set search_path = ''
as $$
begin
    -- PL/pgSQL, not SQL: a SQL function that cannot be inlined (security definer) is parsed and planned
    -- again in every transaction, a PL/pgSQL one keeps its plan for the session.
    return qms.default_policy()
        || coalesce((select p.policy from qms.policies p
                     where p.tenant_id = p_tenant_id and p.branch_id = p_branch_id and p.service_id is null),
                    '{}'::jsonb)
        || coalesce((select p.policy from qms.policies p
                     where p.tenant_id = p_tenant_id and p.branch_id = p_branch_id and p.service_id = p_service_id),
                    '{}'::jsonb);
end
$$;
comment on function qms.effective_policy(uuid, uuid, uuid) is
    'Effective queue policy of a service: defaults || branch policy || service policy (p_service_id may be null).';
revoke all on function qms.effective_policy(uuid, uuid, uuid) from public;
grant execute on function qms.effective_policy(uuid, uuid, uuid)
    to qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker;

-- qms.validate_policy: check a policy patch before it is merged. A null value is allowed for every key
-- (it removes the key at that level). Errors: PT400 INVALID_POLICY (not an object), PT400 UNKNOWN_POLICY_KEY,
-- PT400 INVALID_POLICY_VALUE (wrong type or out of range). Immutable, no locks.
create or replace function qms.validate_policy(p_policy jsonb) returns void
    language plpgsql immutable
as $$
declare
    v_key text;
    v_value jsonb;
    v_ok boolean;
    v_int_ranges constant jsonb := '{"called_grace_seconds": [0, 86400], "priority_ratio": [1, 100],
                                     "notify_ahead": [0, 100]}';
begin
    if p_policy is null or jsonb_typeof(p_policy) <> 'object' then
        perform qms.fail(400, 'INVALID_POLICY', 'policy must be a JSON object',
                         'Send e.g. {"called_grace_seconds": 90}.');
    end if;
    for v_key, v_value in select e.key, e.value from jsonb_each(p_policy) e loop
        if not v_key = any (array['called_grace_seconds', 'return_to_queue', 'priority_ratio', 'number_format',
                                  'cancel_from', 'notify_ahead']) then
            perform qms.fail(400, 'UNKNOWN_POLICY_KEY', format('unknown policy key %s', v_key),
                             'Known keys: called_grace_seconds, return_to_queue, priority_ratio, number_format, '
                             'cancel_from, notify_ahead.');
        end if;
        continue when jsonb_typeof(v_value) = 'null';
        -- Type first, then value: nested so a cast never runs on a value of the wrong JSON type.
        v_ok := false;
        if v_int_ranges ? v_key then
            if jsonb_typeof(v_value) = 'number' then
                v_ok := v_value::numeric = trunc(v_value::numeric)
                        and v_value::numeric between (v_int_ranges -> v_key ->> 0)::numeric
                                                 and (v_int_ranges -> v_key ->> 1)::numeric;
            end if;
        elsif v_key = 'return_to_queue' then
            v_ok := jsonb_typeof(v_value) = 'boolean';
        elsif v_key = 'number_format' then
            if jsonb_typeof(v_value) = 'string' then
                v_ok := length(v_value #>> '{}') between 1 and 32
                        and (select count(*) from regexp_matches(v_value #>> '{}', '\{n(:0[1-9])?\}', 'g')) = 1
                        and regexp_replace(v_value #>> '{}', '\{prefix\}|\{n(:0[1-9])?\}', '', 'g') !~ '[{}]';
            end if;
        elsif jsonb_typeof(v_value) = 'array' then -- cancel_from
            v_ok := not exists (
                        select 1 from jsonb_array_elements(v_value) s
                        where jsonb_typeof(s) <> 'string'
                           or not (s #>> '{}') = any (enum_range(null::qms.ticket_status)::text[]))
                    and jsonb_array_length(v_value)
                        = (select count(distinct s) from jsonb_array_elements(v_value) s);
        end if;
        if not v_ok then
            perform qms.fail(400, 'INVALID_POLICY_VALUE', format('invalid value for policy key %s: %s', v_key, v_value),
                             'Integers: called_grace_seconds 0..86400, priority_ratio 1..100, notify_ahead 0..100; '
                             'return_to_queue boolean; number_format text with one {n} or {n:0N} (e.g. '
                             '"{prefix}-{n:03}"); cancel_from an array of distinct ticket states.');
        end if;
    end loop;
end
$$;
comment on function qms.validate_policy(jsonb) is
    'Validate a policy patch: PT400 INVALID_POLICY / UNKNOWN_POLICY_KEY / INVALID_POLICY_VALUE.';
