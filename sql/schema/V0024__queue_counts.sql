-- Position in O(1) of the queue length (docs/adr/0021-flat-queue-position.md).
--
-- qms.queue_ledger: one row per change of the set of waiting tickets (+1 a ticket became waiting under a
--   key, -1 it left that key; the key is service, priority rank and queued_at). Appended by a trigger on
--   qms.tickets, insert-only, so concurrent commands never wait on a shared row here.
-- qms.queue_counts: the folded ledger, waiting tickets per service, priority rank and time bucket of
--   queued_at at three grains (3600, 60 and 1 seconds). Written only by worker.queue_fold, which moves
--   ledger rows into it in one statement.
-- A ticket's position is then a sum over a few bucket rows plus the unfolded ledger rows plus the waiting
-- tickets of its own second (qms.queue_ahead): exact at every moment, and cheap while the worker folds.
create table qms.queue_ledger (
    tenant_id      uuid not null,
    ledger_id      bigint generated always as identity,
    service_id     uuid not null,
    priority_rank  smallint not null,
    queued_at      timestamptz not null,
    delta          smallint not null check (delta in (-1, 1)),
    primary key (tenant_id, ledger_id)
);
create index queue_ledger_key_idx on qms.queue_ledger (tenant_id, service_id, priority_rank, queued_at);
create index queue_ledger_fold_idx on qms.queue_ledger (ledger_id);

create table qms.queue_counts (
    tenant_id      uuid not null,
    service_id     uuid not null,
    priority_rank  smallint not null,
    grain          integer not null check (grain in (1, 60, 3600)),
    bucket         timestamptz not null,
    n              integer not null,
    primary key (tenant_id, service_id, priority_rank, grain, bucket)
);

-- The tickets waiting when this migration runs enter through the ledger like every later change.
insert into qms.queue_ledger (tenant_id, service_id, priority_rank, queued_at, delta)
select t.tenant_id, t.service_id, t.priority_rank, t.queued_at, 1
from qms.tickets t where t.status = 'waiting'
order by t.tenant_id, t.service_id, t.priority_rank, t.queued_at;
