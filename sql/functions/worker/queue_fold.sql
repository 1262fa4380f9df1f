-- worker.queue_fold(max_rows): move the oldest rows of qms.queue_ledger into qms.queue_counts (hour,
--   minute and second buckets) in one statement, then drop the buckets that reached zero; returns how many
--   ledger rows it folded (call again while it returns max_rows). qms.queue_ahead reads counts plus ledger,
--   so a fold changes no position; it keeps the ledger short, which keeps positions cheap
--   (docs/adr/0021-flat-queue-position.md). A worker without a tenant claim folds every tenant; with one, that tenant (RLS).
-- Errors: PT403 FORBIDDEN (not qms_worker), PT400 INVALID_MAX_ROWS (not 1..100000).
-- Concurrency: ledger rows are claimed `for update skip locked` (two folders take disjoint batches); bucket
--   rows are upserted in key order (no deadlock between folders). Idempotent: a folded row is gone.
create or replace function worker.queue_fold(max_rows integer default 10000) returns integer
    language plpgsql
    security invoker
as $$
declare
    v_count integer;
begin
    perform qms.require_role('qms_worker');
    perform qms.require_max_rows(queue_fold.max_rows, 100000, 10000);
    with picked as (
        select l.tenant_id, l.ledger_id from qms.queue_ledger l
        order by l.ledger_id limit queue_fold.max_rows for update skip locked
    ), gone as (
        delete from qms.queue_ledger l using picked p
        where l.tenant_id = p.tenant_id and l.ledger_id = p.ledger_id
        returning l.tenant_id, l.service_id, l.priority_rank, l.queued_at, l.delta
    ), summed as (
        select g.tenant_id, g.service_id, g.priority_rank, gr.grain, qms.queue_bucket(gr.grain, g.queued_at) as bucket,
               sum(g.delta)::integer as n
        from gone g cross join (values (1), (60), (3600)) gr(grain)
        group by 1, 2, 3, 4, 5
    ), upserted as (
        insert into qms.queue_counts as c (tenant_id, service_id, priority_rank, grain, bucket, n)
        select s.tenant_id, s.service_id, s.priority_rank, s.grain, s.bucket, s.n
        from summed s where s.n <> 0
        order by s.tenant_id, s.service_id, s.priority_rank, s.grain, s.bucket
        on conflict (tenant_id, service_id, priority_rank, grain, bucket) do update set n = c.n + excluded.n
        returning 1
    )
    select count(*) into v_count from gone;
    if v_count > 0 then
        delete from qms.queue_counts c where c.n = 0;
    end if;
    return v_count;
end
$$;
comment on function worker.queue_fold(integer) is
    'Fold the oldest queue ledger rows into the bucket counts of queue positions; returns rows folded.';
