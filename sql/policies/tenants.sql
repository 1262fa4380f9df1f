alter table qms.tenants enable row level security;
alter table qms.tenants force row level security;
drop policy if exists tenants_select_member on qms.tenants;
create policy tenants_select_member on qms.tenants for select
    using ((tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker())));
drop policy if exists tenants_update_admin on qms.tenants;
create policy tenants_update_admin on qms.tenants for update to qms_admin
    using (tenant_id = (select qms.current_tenant_id())) with check (tenant_id = (select qms.current_tenant_id()));
revoke all on qms.tenants from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select on qms.tenants to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant update (name, branding, features, pii_policy) on qms.tenants to qms_admin;
