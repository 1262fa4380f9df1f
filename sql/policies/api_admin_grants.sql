-- Who may call the admin part of the api (re-applied on every deploy). Configuration (create/update/set)
-- is for qms_admin only; reads are also granted where the agent, supervisor and kiosk apps need them; the
-- heartbeat is for devices. Every function also checks the role itself with qms.require_role, and RLS
-- limits every read and write to the caller's tenant and branch scope. Nothing here is executable by public.
do $$
declare
    v_grant record;
begin
    for v_grant in
        select * from (values
            ('api.create_branch(text, text, text, text, jsonb)', 'qms_admin'),
            ('api.update_branch(uuid, text, text, text, text, jsonb, boolean)', 'qms_admin'),
            ('api.list_branches()', 'qms_admin, qms_supervisor, qms_agent'),
            ('api.get_branch(uuid)', 'qms_admin, qms_supervisor, qms_agent'),
            ('api.create_area(uuid, text)', 'qms_admin'),
            ('api.update_area(uuid, text, boolean)', 'qms_admin'),
            ('api.list_areas(uuid)', 'qms_admin, qms_supervisor, qms_agent'),
            ('api.create_service(uuid, text, text, integer, text, integer, jsonb, uuid)', 'qms_admin'),
            ('api.update_service(uuid, text, text, integer, text, integer, jsonb, uuid, boolean)', 'qms_admin'),
            ('api.list_services(uuid)', 'qms_admin, qms_supervisor, qms_agent, qms_device'),
            ('api.create_counter(uuid, text, uuid[], uuid)', 'qms_admin'),
            ('api.update_counter(uuid, text, uuid[], uuid, boolean)', 'qms_admin'),
            ('api.list_counters(uuid)', 'qms_admin, qms_supervisor, qms_agent'),
            ('api.create_user(text, text, text, uuid[], uuid[])', 'qms_admin'),
            ('api.update_user(uuid, text, text, text, uuid[], uuid[], boolean)', 'qms_admin'),
            ('api.list_users()', 'qms_admin, qms_supervisor'),
            ('api.create_device(uuid, text, text, uuid, jsonb)', 'qms_admin'),
            ('api.update_device(uuid, text, uuid, text, jsonb)', 'qms_admin'),
            ('api.list_devices(uuid)', 'qms_admin, qms_supervisor'),
            ('api.device_heartbeat()', 'qms_device'),
            ('api.set_policy(uuid, uuid, jsonb)', 'qms_admin'),
            ('api.get_policy(uuid, uuid)', 'qms_admin, qms_supervisor, qms_agent'),
            ('api.list_audit_logs(timestamptz, timestamptz, text, text, integer)', 'qms_admin, qms_supervisor'),
            ('api.get_tenant()', 'qms_admin, qms_supervisor, qms_agent'),
            ('api.update_tenant(text, jsonb, jsonb, jsonb)', 'qms_admin')
        ) as g (fn, roles)
    loop
        execute format('revoke all on function %s from public, qms_anon, qms_device, qms_agent, qms_supervisor, '
                       'qms_admin, qms_worker, qms_analyst', v_grant.fn);
        execute format('grant execute on function %s to %s', v_grant.fn, v_grant.roles);
    end loop;
end
$$;
