-- Anomaly rules and alerts: supervisors (their branches) and admins manage rules; branch staff and analysts
-- read alerts; the anomaly worker evaluates rules and writes alerts.
alter table qms.anomaly_rules enable row level security;
alter table qms.anomaly_rules force row level security;
alter table qms.anomaly_alerts enable row level security;
alter table qms.anomaly_alerts force row level security;
drop policy if exists anomaly_rules_all_staff on qms.anomaly_rules;
create policy anomaly_rules_all_staff on qms.anomaly_rules for all to qms_supervisor, qms_admin
    using (tenant_id = (select qms.current_tenant_id())
           and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])))
    with check (tenant_id = (select qms.current_tenant_id())
                and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists anomaly_rules_all_worker on qms.anomaly_rules;
create policy anomaly_rules_all_worker on qms.anomaly_rules for all to qms_worker
    using (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))
    with check (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()));
drop policy if exists anomaly_alerts_select_scoped on qms.anomaly_alerts;
create policy anomaly_alerts_select_scoped on qms.anomaly_alerts for select
    to qms_agent, qms_supervisor, qms_admin, qms_analyst
    using (tenant_id = (select qms.current_tenant_id())
           and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists anomaly_alerts_all_worker on qms.anomaly_alerts;
create policy anomaly_alerts_all_worker on qms.anomaly_alerts for all to qms_worker
    using (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))
    with check (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()));
revoke all on qms.anomaly_rules, qms.anomaly_alerts
    from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select, insert on qms.anomaly_rules to qms_supervisor, qms_admin;
grant select, update on qms.anomaly_rules to qms_worker;
grant select on qms.anomaly_alerts to qms_agent, qms_supervisor, qms_admin, qms_analyst;
grant select, insert, update on qms.anomaly_alerts to qms_worker;
grant execute on function api.create_anomaly_rule(uuid, text, numeric, integer, integer) to qms_supervisor, qms_admin;
grant execute on function api.list_anomaly_rules(uuid) to qms_supervisor, qms_admin;
grant execute on function api.list_anomaly_alerts(uuid, boolean) to qms_agent, qms_supervisor, qms_admin, qms_analyst;
grant execute on function worker.evaluate_anomalies(integer) to qms_worker;
