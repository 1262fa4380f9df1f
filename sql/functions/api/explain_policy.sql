-- api.explain_policy(branch_id, service_id): the admin console's policy view. For every policy key the
-- effective value (as api.get_policy / qms.effective_policy answer it) and where it comes from: 'default'
-- (qms.default_policy), 'branch' (the branch's stored policy) or 'service' (the service's override).
--   -> {effective: {...}, source: {key: 'default'|'branch'|'service'}, defaults: {...}, branch: {...},
--       service: {...} | null}
-- Transition: none (read). Errors: PT403 FORBIDDEN (admin, supervisor), PT401 TENANT_REQUIRED,
-- PT404 BRANCH_NOT_FOUND / SERVICE_NOT_FOUND, PT400 SERVICE_NOT_IN_BRANCH. Stable, no locks.
create or replace function api.explain_policy(branch_id uuid, service_id uuid default null) returns jsonb
    language plpgsql stable
    security invoker
as $$
declare
    v_tenant uuid;
    v_branch jsonb;
    v_service jsonb;
    v_effective jsonb;
begin
    perform qms.require_role('qms_admin', 'qms_supervisor');
    v_tenant := qms.require_tenant();
    perform qms.require_branch(explain_policy.branch_id);
    perform qms.require_service_of_branch(explain_policy.branch_id, explain_policy.service_id);
    v_effective := qms.effective_policy(v_tenant, explain_policy.branch_id, explain_policy.service_id);
    select coalesce((select p.policy from qms.policies p
                     where p.tenant_id = v_tenant and p.branch_id = explain_policy.branch_id and p.service_id is null),
                    '{}'::jsonb) into v_branch;
    if explain_policy.service_id is not null then
        select coalesce((select p.policy from qms.policies p
                         where p.tenant_id = v_tenant and p.branch_id = explain_policy.branch_id
                           and p.service_id = explain_policy.service_id), '{}'::jsonb) into v_service;
    end if;
    return jsonb_build_object(
        'effective', v_effective,
        'source', (select jsonb_object_agg(k.key, case when v_service ? k.key then 'service'
                                                      when v_branch ? k.key then 'branch'
                                                      else 'default' end)
                   from jsonb_object_keys(v_effective) k(key)),
        'defaults', qms.default_policy(), 'branch', v_branch, 'service', v_service);
end
$$;
comment on function api.explain_policy(uuid, uuid) is
    'Effective queue policy of a branch or service with the source of each key (default, branch, service). '
    'PT404 BRANCH_NOT_FOUND/SERVICE_NOT_FOUND.';
