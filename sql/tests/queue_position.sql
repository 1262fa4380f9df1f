-- Positions from the queue ledger and bucket counts (qms.queue_ahead, worker.queue_fold): exact against a
-- count of the waiting tickets after every kind of move, before and after folds, across hour, minute and
-- second buckets and priority classes; the fold's role, argument and tenant checks; nobody else reads the
-- counts; the estimated wait's basis (qms.service_pace).
begin;
set search_path = tests, public;
select plan(24);

\ir _engine_fixture.sql

-- The reference: 1 + the waiting tickets of the service before the ticket in call order, counted.
create function pg_temp.counted(p_ticket uuid) returns integer language sql stable as $$
    select 1 + count(*)::integer from qms.tickets w join qms.tickets t on t.ticket_id = p_ticket
    where w.tenant_id = t.tenant_id and w.service_id = t.service_id and w.status = 'waiting'
      and (w.priority_rank, w.queued_at) < (t.priority_rank, t.queued_at) $$;
-- Waiting tickets of tenant A whose api.get_ticket position differs from the count (as an agent of X).
create function pg_temp.wrong_positions() returns text language plpgsql as $$
declare
    v_ids uuid[];
    v_bad text;
begin
    select array_agg(ticket_id) into v_ids from qms.tickets where tenant_id = pg_temp.fx('ta') and status = 'waiting';
    perform pg_temp.as_agent();
    select coalesce(string_agg(x.ticket_number || ': ' || x.pos || ' <> ' || pg_temp.counted(x.ticket_id), ', '), '')
      into v_bad
    from (select (j ->> 'ticket_id')::uuid as ticket_id, j ->> 'ticket_number' as ticket_number,
                 (j ->> 'position')::integer as pos
          from unnest(v_ids) i, api.get_ticket(i) j) x
    where x.pos is distinct from pg_temp.counted(x.ticket_id);
    perform tests.reset_role();
    return v_bad;
end $$;
create function pg_temp.fold(p_claims jsonb default '{"role": "qms_worker", "sub": "fold"}') returns integer
    language plpgsql as $$
declare
    v integer;
begin
    perform tests.authenticate_as('qms_worker', p_claims);
    v := worker.queue_fold();
    perform tests.reset_role();
    return v;
end $$;
create temp table t_ids (n serial primary key, ticket_id uuid not null);
grant all on t_ids, t_ids_n_seq to public;
create function pg_temp.id(p_n integer) returns uuid language sql stable as $$ select ticket_id from t_ids where n = p_n $$;

-- 30 tickets of Teller in three classes, 6 of Loans, issued through the api.
select pg_temp.as_agent();
insert into t_ids (ticket_id)
select (api.create_ticket(service_id => pg_temp.fx(case when g % 6 = 0 then 'sb' else 'sa' end),
                          priority_class => (array['regular', 'regular', 'priority', 'regular', 'vip'])[1 + g % 5])
        ->> 'ticket_id')::uuid
from generate_series(1, 36) g;
select tests.reset_role();
select is((select count(*)::integer from qms.queue_ledger where tenant_id = pg_temp.fx('ta')), 36,
          'every issued ticket appends one ledger row');
select is(pg_temp.wrong_positions(), '', 'positions from the ledger alone equal the count');

-- Spread the queue over hours, minutes and seconds (a moved queued_at moves the ticket in the ledger).
update qms.tickets t set queued_at = t.queued_at - make_interval(hours => x.n % 4, mins => x.n % 7, secs => x.n % 11)
from t_ids x where x.ticket_id = t.ticket_id and x.n % 3 <> 0;
select is(pg_temp.wrong_positions(), '', 'after moving queued_at across hour, minute and second buckets');
select is(pg_temp.fold(), 36 + 2 * 24, 'the fold takes every ledger row');
select is((select count(*)::integer from qms.queue_ledger), 0, 'the ledger is empty after a fold');
select is((select sum(n)::integer from qms.queue_counts where tenant_id = pg_temp.fx('ta') and grain = 3600), 36,
          'the hour buckets hold every waiting ticket');
select is((select count(*)::integer from qms.queue_counts where n = 0), 0, 'no empty bucket is kept');
select is(pg_temp.wrong_positions(), '', 'positions from the folded counts equal the count');

-- Every kind of move, partly folded.
select pg_temp.as_agent();
select api.call_next(pg_temp.fx('c1'));
select api.call_next(pg_temp.fx('c3'));
select api.ticket_action(pg_temp.id(4), 'hold');
select api.ticket_action(pg_temp.id(8), 'cancel');
select api.ticket_action(pg_temp.id(10), 'transfer', target_service_id => pg_temp.fx('sb'));
select tests.reset_role();
select is(pg_temp.wrong_positions(), '', 'after call, hold, cancel and transfer (unfolded)');
select ok(pg_temp.fold() > 0, 'the fold takes the new rows');
select pg_temp.as_agent();
select api.ticket_action(pg_temp.id(4), 'unhold');
select api.ticket_action(pg_temp.id(10), 'transfer', target_service_id => pg_temp.fx('sa'));
select api.call_next(pg_temp.fx('c2'));
select api.create_ticket(service_id => pg_temp.fx('sa'), priority_class => 'emergency');
select tests.reset_role();
select is(pg_temp.wrong_positions(), '', 'after unhold, a transfer back, another call and an emergency (mixed)');
update qms.tickets set priority_class = 'vip' where ticket_id = pg_temp.id(7);
select is(pg_temp.wrong_positions(), '', 'a changed class moves the ticket to the other rank');
select ok(pg_temp.fold() > 0, 'a second fold');
select is(pg_temp.wrong_positions(), '', 'and after the second fold');
select is((select sum(n)::integer from qms.queue_counts c where c.tenant_id = pg_temp.fx('ta') and c.grain = 1),
          (select count(*)::integer from qms.tickets where tenant_id = pg_temp.fx('ta') and status = 'waiting'),
          'the second buckets hold every waiting ticket');

-- Role, argument and tenant checks; nobody but the worker reads the counts.
select pg_temp.as_agent();
select is(tests.error_of($$ select worker.queue_fold() $$), '42501 ', 'an agent cannot fold');
select is(tests.error_of($$ select count(*) from qms.queue_counts $$), '42501 ', 'an agent cannot read the counts');
select is(tests.error_of($$ select count(*) from qms.queue_ledger $$), '42501 ', 'an agent cannot read the ledger');
select api.create_ticket(service_id => pg_temp.fx('sa'));
select tests.reset_role();
select tests.authenticate_as('qms_worker', '{"role": "qms_worker", "sub": "fold"}');
select is(tests.error_of($$ select worker.queue_fold(0) $$), 'PT400 INVALID_MAX_ROWS', 'max_rows is validated');
select tests.reset_role();
select is(pg_temp.fold(tests.claims('qms_worker', pg_temp.fx('tb'))), 0, 'a worker of tenant B folds nothing of A');
select is(pg_temp.fold(tests.claims('qms_worker', pg_temp.fx('ta'))), 1, 'a worker of tenant A folds A');

-- The estimated wait's basis: the counters that served the service in the last hour and are open now.
create temp table t_done as
select ticket_id, counter_id from qms.tickets
where tenant_id = pg_temp.fx('ta') and status = 'called' and service_id = pg_temp.fx('sa');
grant all on t_done to public;
select pg_temp.as_agent();
select api.ticket_action(d.ticket_id, 'start', counter_id => d.counter_id) from t_done d;
select api.ticket_action(d.ticket_id, 'complete', counter_id => d.counter_id) from t_done d;
select tests.reset_role();
select is((select p.counters from qms.service_pace(pg_temp.fx('ta'), pg_temp.fx('sa')) p),
          (select count(distinct counter_id)::integer from qms.tickets
           where tenant_id = pg_temp.fx('ta') and service_id = pg_temp.fx('sa') and status = 'done'),
          'counters = the counters that completed its tickets in the last hour');
update qms.counters set status = 'break' where counter_id = pg_temp.fx('c1');
update qms.tickets set completed_at = now() - interval '2 hours'
where tenant_id = pg_temp.fx('ta') and service_id = pg_temp.fx('sa') and status = 'done' and counter_id <> pg_temp.fx('c1');
select is((select p.counters from qms.service_pace(pg_temp.fx('ta'), pg_temp.fx('sa')) p), 1,
          'without a recent one that is open: the available counters mapped to the service (c2)');
select ok((select p.handle_seconds is not null from qms.service_pace(pg_temp.fx('ta'), pg_temp.fx('sa')) p),
          'handle time from the done tickets');

select * from finish();
rollback;
