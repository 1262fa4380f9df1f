-- worker.sweep_no_shows: marks exactly the overdue called tickets, honours return_to_queue, one event each,
-- tenant scoping of a worker with a tenant claim, role and argument checks.
begin;
set search_path = tests, public;
select plan(17);

-- Fixture (through the api fixtures): tenant A, branch A1, Teller (counters 1-3) and Loans (counter 4); tenant B.
select set_config('fx.ta', qms.create_tenant('Acme', 'acme')::text, true),
       set_config('fx.tb', qms.create_tenant('Beta', 'beta')::text, true);
select set_config('fx.a1', tests.add_branch(tests.fx('ta'), 'A1')::text, true);
select set_config('fx.teller', tests.add_service(tests.fx('ta'), tests.fx('a1'), 'Teller', 'A')::text, true),
       set_config('fx.loans', tests.add_service(tests.fx('ta'), tests.fx('a1'), 'Loans', 'L')::text, true);
select set_config('fx.c' || g, tests.add_counter(tests.fx('ta'), tests.fx('a1'), 'Counter ' || g,
                                                 array[tests.fx(case when g = 4 then 'loans' else 'teller' end)])::text, true)
from generate_series(1, 4) g;

create temp table t_called (n int primary key, ticket_id uuid);
grant all on t_called to public;
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('ta'),
                                                       array[tests.fx('a1')]::uuid[]));
select api.create_ticket(service_id => tests.fx('teller')) from generate_series(1, 3);
select api.create_ticket(service_id => tests.fx('loans'));
insert into t_called
select g, (api.call_next(tests.fx('c' || g)) -> 'ticket' ->> 'ticket_id')::uuid
from generate_series(1, 4) g;
select tests.reset_role();
select is((select count(*)::int from qms.tickets where status = 'called'), 4, 'four tickets are called');

-- tickets 1 and 2 are overdue (default grace 120 s), 3 is inside the grace, 4 (Loans) overdue later
update qms.tickets set called_at = now() - interval '10 minutes'
where ticket_id in (select ticket_id from t_called where n in (1, 2));
update qms.tickets set called_at = now() - interval '60 seconds'
where ticket_id in (select ticket_id from t_called where n = 3);

select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('ta')));
select is(tests.error_of($$ select worker.sweep_no_shows() $$), '42501 ', 'an agent cannot run the sweeper');
select tests.authenticate_as('qms_worker', '{"role": "qms_worker", "sub": "sweeper"}');
select is(tests.error_of($$ select worker.sweep_no_shows(0) $$), 'PT400 INVALID_MAX_ROWS', 'max_rows is validated');
-- a worker scoped to tenant B touches nothing of A
select tests.authenticate_as('qms_worker', tests.claims('qms_worker', tests.fx('tb')));
select is(worker.sweep_no_shows(), 0, 'a worker of tenant B sweeps nothing of tenant A');
select tests.authenticate_as('qms_worker', '{"role": "qms_worker", "sub": "sweeper"}');
select is(worker.sweep_no_shows(max_rows => 1), 1, 'batch-wise: max_rows caps a run');
select is(worker.sweep_no_shows(), 1, 'the next run takes the rest');
select is(worker.sweep_no_shows(), 0, 'nothing left: a third run sweeps nothing');
select tests.reset_role();

select results_eq($$ select n, status::text from t_called join qms.tickets using (ticket_id) order by n $$,
                  $$ values (1, 'no_show'), (2, 'no_show'), (3, 'called'), (4, 'called') $$,
                  'exactly the overdue tickets became no_show');
select results_eq($$ select count(*)::int from qms.ticket_events e join t_called c using (ticket_id)
                    where e.type = 'ticket.no_show' group by c.n order by c.n $$,
                  $$ values (1), (1) $$, 'one ticket.no_show event each');
select is((select payload -> 'changes' ->> 'status' from qms.ticket_events e join t_called c using (ticket_id)
           where c.n = 1 and e.type = 'ticket.no_show'), 'no_show', 'the event carries the change');
select ok((select bool_and(ok) from qms.verify_ticket_chains(tests.fx('ta'))),
          'every chain still verifies');
select ok((select ended_at is not null from qms.tickets where ticket_id = (select ticket_id from t_called where n = 1)),
          'a no-show has ended');

-- return_to_queue on Loans with a 30 s grace
select tests.set_policy(tests.fx('ta'), tests.fx('a1'), tests.fx('loans'),
                        '{"return_to_queue": true, "called_grace_seconds": 30}');
update qms.tickets set called_at = now() - interval '45 seconds'
where ticket_id = (select ticket_id from t_called where n = 4);
select tests.authenticate_as('qms_worker', '{"role": "qms_worker", "sub": "sweeper"}');
select is(worker.sweep_no_shows(), 1, 'the per-service grace applies (45 s > 30 s), the 60 s one at 120 s stays');
select tests.reset_role();
select results_eq($$ select status::text, returned, counter_id, called_at from qms.tickets
                    where ticket_id = (select ticket_id from t_called where n = 4) $$,
                  $$ values ('waiting', true, null::uuid, null::timestamptz) $$,
                  'return_to_queue: waiting again, returned, counter cleared');
select is((select array_agg(type order by ticket_seq) from qms.ticket_events
           where ticket_id = (select ticket_id from t_called where n = 4)),
          array['ticket.created', 'ticket.called', 'ticket.returned'], 'one ticket.returned event');
select is((api_fold ->> 'status'), 'waiting', 'the fold agrees with the row')
from (select qms.fold_ticket_events(tests.fx('ta'),
                                    (select ticket_id from t_called where n = 4)) as api_fold) f;
select is((select count(*)::int from qms.tickets where status = 'called'), 1, 'the ticket inside its grace is still called');

select * from finish();
rollback;
