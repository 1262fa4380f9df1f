-- Scheduled reports: admins manage their tenant's schedules (branch-scoped admins their branches); the report
-- worker plans and sends the runs. Runs are read and written by the worker only.
alter table qms.report_schedules enable row level security;
alter table qms.report_schedules force row level security;
alter table qms.report_runs enable row level security;
alter table qms.report_runs force row level security;
drop policy if exists report_schedules_all_admin on qms.report_schedules;
create policy report_schedules_all_admin on qms.report_schedules for all to qms_admin
    using (tenant_id = (select qms.current_tenant_id())
           and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])))
    with check (tenant_id = (select qms.current_tenant_id())
                and ((select qms.branch_scope_all()) or branch_id = any ((select qms.current_branch_ids())::uuid[])));
drop policy if exists report_schedules_all_worker on qms.report_schedules;
create policy report_schedules_all_worker on qms.report_schedules for all to qms_worker
    using (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))
    with check (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()));
drop policy if exists report_runs_all_worker on qms.report_runs;
create policy report_runs_all_worker on qms.report_runs for all to qms_worker
    using (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))
    with check (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()));
revoke all on qms.report_schedules, qms.report_runs
    from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select, insert, delete on qms.report_schedules to qms_admin;
grant select, update on qms.report_schedules to qms_worker;
grant select, insert, update on qms.report_runs to qms_worker;
-- on delete cascade removes a deleted schedule's runs as the admin: let admins delete runs of their tenant.
drop policy if exists report_runs_delete_admin on qms.report_runs;
create policy report_runs_delete_admin on qms.report_runs for delete to qms_admin
    using (tenant_id = (select qms.current_tenant_id()));
grant select, delete on qms.report_runs to qms_admin;

grant execute on function api.create_report_schedule(uuid, text, text, text, text[], uuid[], integer, text) to qms_admin;
grant execute on function api.list_report_schedules() to qms_admin;
grant execute on function api.delete_report_schedule(uuid) to qms_admin;
grant execute on function worker.claim_report_schedules(integer) to qms_worker;
grant execute on function worker.plan_report_run(uuid, uuid, date, date, timestamptz) to qms_worker;
grant execute on function worker.claim_report_run() to qms_worker;
grant execute on function worker.finish_report_run(uuid, uuid, text) to qms_worker;
