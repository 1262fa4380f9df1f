alter table qms.ticket_contacts enable row level security;
alter table qms.ticket_contacts force row level security;
-- Issuers may write a contact but never read one back; only the notification worker reads them.
drop policy if exists ticket_contacts_insert_issuer on qms.ticket_contacts;
create policy ticket_contacts_insert_issuer on qms.ticket_contacts for insert
    to qms_device, qms_agent, qms_supervisor, qms_admin
    with check (tenant_id = (select qms.current_tenant_id()));
drop policy if exists ticket_contacts_all_worker on qms.ticket_contacts;
create policy ticket_contacts_all_worker on qms.ticket_contacts for all to qms_worker
    using ((tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))) with check ((tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker())));
revoke all on qms.ticket_contacts from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker,
    qms_analyst;
grant insert on qms.ticket_contacts to qms_device, qms_agent, qms_supervisor, qms_admin;
grant select, delete on qms.ticket_contacts to qms_worker;
grant update (notify) on qms.ticket_contacts to qms_worker;
