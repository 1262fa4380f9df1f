-- Queue policies: api.set_policy (merge a patch into the branch or service level) and api.get_policy
-- (the effective policy: defaults || branch || service, see qms.effective_policy). Changes apply to the
-- next ticket command, no restart.

-- api.set_policy: merge `policy` into the stored policy of a branch (service_id null) or of one service;
-- a key with a null value is removed from that level (the level below then applies again).
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_POLICY / UNKNOWN_POLICY_KEY /
-- INVALID_POLICY_VALUE / SERVICE_NOT_IN_BRANCH, PT404 BRANCH_NOT_FOUND / SERVICE_NOT_FOUND.
-- Idempotent (the same patch twice gives the same policy). Locking: the policy row (created when missing).
create or replace function api.set_policy(branch_id uuid, service_id uuid default null, policy jsonb default null)
    returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_before qms.policies;
    v_after qms.policies;
    v_merged jsonb;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    perform qms.validate_policy(set_policy.policy);
    perform qms.require_branch(set_policy.branch_id);
    perform qms.require_service_of_branch(set_policy.branch_id, set_policy.service_id);
    insert into qms.policies (tenant_id, branch_id, service_id)
    values (v_tenant, set_policy.branch_id, set_policy.service_id)
    on conflict do nothing;
    select * into strict v_before from qms.policies p
    where p.tenant_id = v_tenant and p.branch_id = set_policy.branch_id
      and p.service_id is not distinct from set_policy.service_id
    for update;
    select coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb) into v_merged
    from jsonb_each(v_before.policy || set_policy.policy) e
    where jsonb_typeof(e.value) <> 'null';
    update qms.policies p set policy = v_merged, updated_at = now()
    where p.tenant_id = v_tenant and p.policy_id = v_before.policy_id
    returning * into v_after;
    perform qms.audit_write('policy.set', 'policy', v_after.policy_id::text, to_jsonb(v_before), to_jsonb(v_after));
    return to_jsonb(v_after)
        || jsonb_build_object('effective', qms.effective_policy(v_tenant, v_after.branch_id, v_after.service_id));
end
$$;
comment on function api.set_policy(uuid, uuid, jsonb) is
    'Merge a policy patch into a branch or service (admin; null value removes a key). Returns the stored policy '
    'and the effective one. PT400 UNKNOWN_POLICY_KEY/INVALID_POLICY_VALUE, PT404 BRANCH/SERVICE_NOT_FOUND.';

-- api.get_policy: the effective policy of a branch, or of a service of it (defaults || branch || service).
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT404 BRANCH_NOT_FOUND / SERVICE_NOT_FOUND,
-- PT400 SERVICE_NOT_IN_BRANCH. Read-only.
create or replace function api.get_policy(branch_id uuid, service_id uuid default null) returns jsonb
    language plpgsql stable
as $$
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_admin', 'qms_supervisor', 'qms_agent');
    v_tenant := qms.require_tenant();
    perform qms.require_branch(get_policy.branch_id);
    perform qms.require_service_of_branch(get_policy.branch_id, get_policy.service_id);
    return qms.effective_policy(v_tenant, get_policy.branch_id, get_policy.service_id);
end
$$;
comment on function api.get_policy(uuid, uuid) is
    'Effective queue policy of a branch or one of its services. PT404 BRANCH_NOT_FOUND/SERVICE_NOT_FOUND.';
