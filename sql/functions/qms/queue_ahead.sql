-- The position of a waiting ticket without counting the queue (docs/adr/0021-flat-queue-position.md).
--
-- qms.queue_bucket(grain, at): the start of the grain-second bucket holding at (UTC-aligned, so every
--   session folds and reads the same buckets whatever its TimeZone). Immutable.
-- qms.queue_ahead(tenant, service, rank, queued_at): how many tickets of the service wait before the key
--   (rank, queued_at) in call order, i.e. with (priority_rank, queued_at) < (rank, queued_at). One statement
--   (one snapshot), five parts:
--     hour buckets of the higher ranks and of this rank before the key's hour, minute buckets of the key's
--     hour before its minute, second buckets of its minute before its second (qms.queue_counts, folded);
--     the ledger rows not folded yet whose key is before the key's second (qms.queue_ledger);
--     the waiting tickets of the key's own second before it (qms.tickets, at most a second of arrivals).
--   The folded counts plus the unfolded ledger equal the waiting tickets of every key at any snapshot (the
--   ledger is written by the trigger below in the ticket's own transaction, and the fold moves rows from
--   ledger to counts in one statement), so the answer is exact at every moment. Its cost is a few dozen
--   bucket rows plus the unfolded ledger rows before the key: flat in the queue length while
--   worker.queue_fold runs (every second in `qms up`); without it the ledger grows and the read becomes a
--   count of ledger rows, still exact.
--   Runs as the caller: callers are security definer readers (qms.queue_estimate, qms.public_ticket_view)
--   or the owner. Stable, no errors, no locks.
-- qms.tg_tickets__queue_ledger(): AFTER INSERT / UPDATE / DELETE FOR EACH ROW on qms.tickets (the WHEN of
--   the triggers, sql/policies/queue_counts.sql, lets through only rows entering, leaving or moving inside
--   the waiting set): appends -1 for the old key when the old row was waiting and +1 for the new key when
--   the new row is waiting. Security definer (the engine's roles may not write the ledger). No locks taken
--   beyond the insert; the ticket's writer already holds its row.
create or replace function qms.queue_bucket(p_grain integer, p_at timestamptz) returns timestamptz
    language sql immutable parallel safe
as $$
    select pg_catalog.date_bin(pg_catalog.make_interval(secs => p_grain), p_at, timestamptz '2000-01-01 00:00:00+00')
$$;
comment on function qms.queue_bucket(integer, timestamptz) is
    'Start of the UTC-aligned bucket of grain seconds holding the time (queue position counts).';

create or replace function qms.queue_ahead(p_tenant_id uuid, p_service_id uuid, p_rank smallint,
                                           p_queued_at timestamptz)
    returns integer
    language plpgsql stable
as $$
-- PL/pgSQL so the statement's plan is cached per session (a SQL function with subqueries is never inlined
-- and would be planned on every call).
begin
    return (
        coalesce((select sum(c.n) from qms.queue_counts c
                  where c.tenant_id = p_tenant_id and c.service_id = p_service_id and c.grain = 3600
                    and c.priority_rank <= p_rank
                    and (c.priority_rank < p_rank or c.bucket < qms.queue_bucket(3600, p_queued_at))), 0)
        + coalesce((select sum(c.n) from qms.queue_counts c
                    where c.tenant_id = p_tenant_id and c.service_id = p_service_id and c.priority_rank = p_rank
                      and c.grain = 60
                      and c.bucket >= qms.queue_bucket(3600, p_queued_at)
                      and c.bucket < qms.queue_bucket(60, p_queued_at)), 0)
        + coalesce((select sum(c.n) from qms.queue_counts c
                    where c.tenant_id = p_tenant_id and c.service_id = p_service_id and c.priority_rank = p_rank
                      and c.grain = 1
                      and c.bucket >= qms.queue_bucket(60, p_queued_at)
                      and c.bucket < qms.queue_bucket(1, p_queued_at)), 0)
        + coalesce((select sum(l.delta) from qms.queue_ledger l
                    where l.tenant_id = p_tenant_id and l.service_id = p_service_id
                      and (l.priority_rank, l.queued_at) < (p_rank, qms.queue_bucket(1, p_queued_at))), 0)
        + (select count(*) from qms.tickets w
           where w.tenant_id = p_tenant_id and w.service_id = p_service_id and w.status = 'waiting'
             and w.priority_rank = p_rank
             and w.queued_at >= qms.queue_bucket(1, p_queued_at) and w.queued_at < p_queued_at)
    )::integer;
end
$$;
comment on function qms.queue_ahead(uuid, uuid, smallint, timestamptz) is
    'Waiting tickets of a service before a (priority rank, queued_at) key in call order, from folded bucket '
    'counts, the unfolded ledger and the key''s own second.';
revoke all on function qms.queue_ahead(uuid, uuid, smallint, timestamptz) from public;

create or replace function qms.tg_tickets__queue_ledger() returns trigger
    language plpgsql
    security definer
    set search_path = ''
as $$
begin
    if tg_op = 'INSERT' then
        insert into qms.queue_ledger (tenant_id, service_id, priority_rank, queued_at, delta)
        values (new.tenant_id, new.service_id, new.priority_rank, new.queued_at, 1);
    elsif tg_op = 'DELETE' then
        insert into qms.queue_ledger (tenant_id, service_id, priority_rank, queued_at, delta)
        values (old.tenant_id, old.service_id, old.priority_rank, old.queued_at, -1);
    elsif old.status = 'waiting' and new.status = 'waiting' then
        insert into qms.queue_ledger (tenant_id, service_id, priority_rank, queued_at, delta)
        values (old.tenant_id, old.service_id, old.priority_rank, old.queued_at, -1),
               (new.tenant_id, new.service_id, new.priority_rank, new.queued_at, 1);
    elsif old.status = 'waiting' then
        insert into qms.queue_ledger (tenant_id, service_id, priority_rank, queued_at, delta)
        values (old.tenant_id, old.service_id, old.priority_rank, old.queued_at, -1);
    else
        insert into qms.queue_ledger (tenant_id, service_id, priority_rank, queued_at, delta)
        values (new.tenant_id, new.service_id, new.priority_rank, new.queued_at, 1);
    end if;
    return null;
end
$$;
comment on function qms.tg_tickets__queue_ledger() is
    'Append the change of the waiting set (-1 old key, +1 new key) to qms.queue_ledger.';
revoke all on function qms.tg_tickets__queue_ledger() from public;
