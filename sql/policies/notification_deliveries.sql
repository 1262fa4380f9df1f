alter table qms.notification_deliveries enable row level security;
alter table qms.notification_deliveries force row level security;
drop policy if exists notification_deliveries_insert_issuer on qms.notification_deliveries;
create policy notification_deliveries_insert_issuer on qms.notification_deliveries for insert
    to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker
    with check ((tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker())));
drop policy if exists notification_deliveries_select_staff on qms.notification_deliveries;
create policy notification_deliveries_select_staff on qms.notification_deliveries for select
    to qms_supervisor, qms_admin, qms_worker using ((tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker())));
drop policy if exists notification_deliveries_update_worker on qms.notification_deliveries;
create policy notification_deliveries_update_worker on qms.notification_deliveries for update to qms_worker
    using ((tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))) with check ((tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker())));
revoke all on qms.notification_deliveries from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin,
    qms_worker, qms_analyst;
grant insert on qms.notification_deliveries to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker;
grant select on qms.notification_deliveries to qms_supervisor, qms_admin, qms_worker;
grant update on qms.notification_deliveries to qms_worker;
