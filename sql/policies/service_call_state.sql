alter table qms.service_call_state enable row level security;
alter table qms.service_call_state force row level security;
-- Anti-starvation state of call_next: read and written by the staff who call tickets, in their tenant.
drop policy if exists service_call_state_all_staff on qms.service_call_state;
create policy service_call_state_all_staff on qms.service_call_state for all
    to qms_agent, qms_supervisor, qms_admin
    using (tenant_id = (select qms.current_tenant_id())) with check (tenant_id = (select qms.current_tenant_id()));
revoke all on qms.service_call_state from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker,
    qms_analyst;
grant select, insert, update on qms.service_call_state to qms_agent, qms_supervisor, qms_admin;
