alter table qms.ticket_number_counters enable row level security;
alter table qms.ticket_number_counters force row level security;
drop policy if exists ticket_number_counters_all_issuer on qms.ticket_number_counters;
create policy ticket_number_counters_all_issuer on qms.ticket_number_counters for all
    to qms_device, qms_agent, qms_supervisor, qms_admin
    using (tenant_id = (select qms.current_tenant_id())) with check (tenant_id = (select qms.current_tenant_id()));
revoke all on qms.ticket_number_counters from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin,
    qms_worker, qms_analyst;
grant select, insert, update on qms.ticket_number_counters to qms_device, qms_agent, qms_supervisor, qms_admin;
