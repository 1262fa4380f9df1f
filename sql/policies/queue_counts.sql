-- Queue position counts (docs/adr/0021-flat-queue-position.md): the ledger trigger on qms.tickets, row-level
-- security, and the worker's grants. The engine's roles never touch these tables: the trigger function and
-- the readers (qms.queue_estimate, qms.public_ticket_view) are security definer.
alter table qms.queue_ledger enable row level security;
alter table qms.queue_ledger force row level security;
alter table qms.queue_counts enable row level security;
alter table qms.queue_counts force row level security;

-- The worker (worker.queue_fold): its tenant, or every tenant without a tenant claim.
drop policy if exists queue_ledger_all_worker on qms.queue_ledger;
create policy queue_ledger_all_worker on qms.queue_ledger for all to qms_worker
    using (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))
    with check (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()));
drop policy if exists queue_counts_all_worker on qms.queue_counts;
create policy queue_counts_all_worker on qms.queue_counts for all to qms_worker
    using (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()))
    with check (tenant_id = (select qms.current_tenant_id()) or (select qms.is_tenantless_worker()));

revoke all on qms.queue_ledger, qms.queue_counts
    from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select, update, delete on qms.queue_ledger to qms_worker;  -- update: the fold claims rows for update
grant select, insert, update, delete on qms.queue_counts to qms_worker;
grant execute on function worker.queue_fold(integer) to qms_worker;

-- Only rows entering, leaving or moving inside the waiting set reach the trigger function.
create or replace trigger tickets_queue_ledger_insert
    after insert on qms.tickets
    for each row when (new.status = 'waiting')
    execute function qms.tg_tickets__queue_ledger();
create or replace trigger tickets_queue_ledger_update
    after update on qms.tickets
    for each row when ((old.status = 'waiting' or new.status = 'waiting')
                       and (old.status, old.service_id, old.priority_rank, old.queued_at)
                           is distinct from (new.status, new.service_id, new.priority_rank, new.queued_at))
    execute function qms.tg_tickets__queue_ledger();
create or replace trigger tickets_queue_ledger_delete
    after delete on qms.tickets
    for each row when (old.status = 'waiting')
    execute function qms.tg_tickets__queue_ledger();
