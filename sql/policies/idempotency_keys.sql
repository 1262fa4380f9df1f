alter table qms.idempotency_keys enable row level security;
alter table qms.idempotency_keys force row level security;
drop policy if exists idempotency_keys_all_tenant on qms.idempotency_keys;
create policy idempotency_keys_all_tenant on qms.idempotency_keys for all
    to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker
    using ((tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))) with check ((tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker())));
revoke all on qms.idempotency_keys from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker,
    qms_analyst;
grant select, insert, update on qms.idempotency_keys to qms_device, qms_agent, qms_supervisor, qms_admin,
    qms_worker;
grant delete on qms.idempotency_keys to qms_worker;
