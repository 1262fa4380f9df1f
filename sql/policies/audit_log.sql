alter table audit.log enable row level security;
alter table audit.log force row level security;
alter table audit.chain_heads enable row level security;
alter table audit.chain_heads force row level security;
-- Rows are written only through qms.audit_write (security definer). Admins read their tenant's log;
-- supervisors and branch-scoped admins too (filtering by branch happens in api.list_audit_logs).
drop policy if exists log_select_staff on audit.log;
create policy log_select_staff on audit.log for select to qms_admin, qms_supervisor
    using (tenant_id = (select qms.current_tenant_id()));
drop policy if exists chain_heads_select_none on audit.chain_heads;
create policy chain_heads_select_none on audit.chain_heads for select using (false);
revoke all on audit.log, audit.chain_heads from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin,
    qms_worker, qms_analyst;
grant select on audit.log to qms_admin, qms_supervisor;

create or replace trigger log_append_only
    before update or delete on audit.log
    for each row execute function qms.tg_append_only__refuse();
create or replace trigger log_no_truncate
    before truncate on audit.log
    for each statement execute function qms.tg_append_only__refuse();

-- qms.audit_append takes the tenant and actor as parameters: only its owner's functions (qms.audit_write,
-- qms.auth_login_failed) may call it, never a request role.
revoke all on function qms.audit_append(uuid, text, text, text, text, text, jsonb, jsonb, text, text, text)
    from public;
