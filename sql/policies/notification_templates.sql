-- Templates: admins write (through api functions), the sender worker reads.
alter table qms.notification_templates enable row level security;
alter table qms.notification_templates force row level security;
drop policy if exists notification_templates_select_tenant on qms.notification_templates;
create policy notification_templates_select_tenant on qms.notification_templates for select
    to qms_admin, qms_worker using ((select qms.tenant_match(tenant_id)));
drop policy if exists notification_templates_write_admin on qms.notification_templates;
create policy notification_templates_write_admin on qms.notification_templates for all to qms_admin
    using (tenant_id = (select qms.current_tenant_id())) with check (tenant_id = (select qms.current_tenant_id()));
revoke all on qms.notification_templates from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin,
    qms_worker, qms_analyst;
grant select, insert, update on qms.notification_templates to qms_admin;
grant select on qms.notification_templates to qms_worker;
