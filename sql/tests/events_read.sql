-- Read side of the event log: ticket_events, rehydrate, chain verification (tampering), append-only,
-- snapshots per role, RLS between tenants and branches.
begin;
set search_path = tests, public;
select plan(40);

-- Fixture (through the api fixtures): tenant A with branches A1, A2; tenant B with branch B1. Ids: tests.fx(key).
select set_config('fx.ta', qms.create_tenant('Acme', 'acme')::text, true),
       set_config('fx.tb', qms.create_tenant('Beta', 'beta')::text, true);
select set_config('fx.a1', tests.add_branch(tests.fx('ta'), 'A1')::text, true),
       set_config('fx.a2', tests.add_branch(tests.fx('ta'), 'A2')::text, true),
       set_config('fx.b1', tests.add_branch(tests.fx('tb'), 'B1')::text, true);
select set_config('fx.hall', tests.add_area(tests.fx('ta'), tests.fx('a1'), 'Hall')::text, true),
       set_config('fx.teller', tests.add_service(tests.fx('ta'), tests.fx('a1'), 'Teller', 'A')::text, true),
       set_config('fx.loans', tests.add_service(tests.fx('ta'), tests.fx('a1'), 'Loans', 'L')::text, true),
       set_config('fx.bteller', tests.add_service(tests.fx('tb'), tests.fx('b1'), 'Teller', 'A')::text, true);
select set_config('fx.c1', tests.add_counter(tests.fx('ta'), tests.fx('a1'), 'Counter 1', array[tests.fx('teller')],
                                             'available', tests.fx('hall'))::text, true);

create temp table t_ids (name text primary key, id uuid);
grant all on t_ids to public;

-- A sequence of actions through the engine, as an agent of branch A1.
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('ta'),
                                                       array[tests.fx('a1')]::uuid[]));
insert into t_ids select 'first', (api.create_ticket(service_id => tests.fx('teller'),
                                                     contact => null) ->> 'ticket_id')::uuid;
insert into t_ids select 'second', (api.create_ticket(service_id => tests.fx('teller')) ->> 'ticket_id')::uuid;
insert into t_ids select 'third', (api.create_ticket(service_id => tests.fx('teller'),
                                                     priority_class => 'vip') ->> 'ticket_id')::uuid;
select is(api.call_next(tests.fx('c1')) -> 'ticket' ->> 'ticket_id',
          (select id::text from t_ids where name = 'third'), 'the vip ticket is called first');
select lives_ok($$ select api.ticket_action((select id from t_ids where name = 'third'), 'recall',
                                            counter_id => tests.fx('c1')) $$, 'recall');
select lives_ok($$ select api.ticket_action((select id from t_ids where name = 'third'), 'start',
                                            counter_id => tests.fx('c1')) $$, 'start');
select lives_ok($$ select api.ticket_action((select id from t_ids where name = 'first'), 'hold') $$, 'hold');

-- ticket_events
select is(jsonb_array_length(api.ticket_events((select id from t_ids where name = 'third'))), 4,
          'the called ticket has 4 events (created, called, recalled, serving)');
select is((select array_agg(e ->> 'type' order by (e ->> 'ticket_seq')::int)
           from jsonb_array_elements(api.ticket_events((select id from t_ids where name = 'third'))) e),
          array['ticket.created', 'ticket.called', 'ticket.recalled', 'ticket.serving'], 'events in ticket_seq order');
select ok((select bool_and(e ->> 'hash' ~ '^[0-9a-f]{64}$' and (e ->> 'seq')::bigint > 0)
           from jsonb_array_elements(api.ticket_events((select id from t_ids where name = 'third'))) e),
          'hashes are hex, seq is set');
select is(tests.error_of($$ select api.ticket_events(gen_random_uuid()) $$),
          'PT404 TICKET_NOT_FOUND', 'unknown ticket: 404');

-- qms.ticket_changes names exactly qms.ticket_event_columns(): all of them on create, and each one alone
-- when only it changes.
select is((select array_agg(k order by k) from qms.tickets t, jsonb_object_keys(qms.ticket_changes(null, t)) k
           where t.ticket_id = (select id from t_ids where name = 'third')),
          (select array_agg(c order by c) from unnest(qms.ticket_event_columns()) c),
          'ticket_changes on create: every event column');
select is((select array_agg(c order by c)
           from qms.tickets t,
                lateral (select pg_catalog.jsonb_build_object(
                            'branch_id', gen_random_uuid(), 'service_id', gen_random_uuid(), 'area_id', gen_random_uuid(),
                            'counter_id', gen_random_uuid(), 'ticket_number', t.ticket_number || 'x',
                            'number_seq', t.number_seq + 1, 'business_date', t.business_date - 1,
                            'status', case when t.status = 'no_show' then 'done' else 'no_show' end,
                            'channel', t.channel || 'x', 'priority_class', t.priority_class || 'x',
                            'returned', not coalesce(t.returned, false),
                            'transfer_note', coalesce(t.transfer_note, '') || 'x',
                            'target_counter_id', gen_random_uuid(), 'queued_at', '1999-01-01T00:00:00Z',
                            'created_at', '1999-01-01T00:00:01Z', 'called_at', '1999-01-01T00:00:02Z',
                            'served_at', '1999-01-01T00:00:03Z', 'completed_at', '1999-01-01T00:00:04Z',
                            'ended_at', '1999-01-01T00:00:05Z') as v) o,
                unnest(qms.ticket_event_columns()) c
           where t.ticket_id = (select id from t_ids where name = 'third')
             and qms.ticket_changes(t, jsonb_populate_record(t, jsonb_build_object(c, o.v -> c)))
                 = jsonb_build_object(c, to_jsonb(jsonb_populate_record(t, jsonb_build_object(c, o.v -> c))) -> c)),
          (select array_agg(c order by c) from unnest(qms.ticket_event_columns()) c),
          'ticket_changes: each event column alone, when only it changed');

-- rehydrate == row, for every event column
create temp view v_row_vs_fold as
    select x.name,
           (select jsonb_object_agg(k.key, k.value) from jsonb_each(to_jsonb(t)) k
            where k.key = any (qms.ticket_event_columns() || array['ticket_id', 'tenant_id'])) as row_json,
           (api.rehydrate_ticket(t.ticket_id) - 'event_count' - 'last_event_hash') as folded,
           t.event_count, api.rehydrate_ticket(t.ticket_id) as full_json
    from t_ids x join qms.tickets t on t.ticket_id = x.id;
grant select on v_row_vs_fold to public;
select is(folded, row_json, 'rehydrate equals the row: ' || name) from v_row_vs_fold order by name;
select is((full_json ->> 'event_count')::int, event_count, 'event_count of the fold matches the row: ' || name)
from v_row_vs_fold where name = 'third';
select is(tests.error_of($$ select api.rehydrate_ticket(gen_random_uuid()) $$),
          'PT404 TICKET_NOT_FOUND', 'rehydrate unknown: 404');

-- verify
select is(api.verify_ticket_chain((select id from t_ids where name = 'third')) - 'ticket_id' - 'event_count',
          '{"ok": true, "broken_at": null}'::jsonb, 'an untouched chain verifies');
select is(tests.error_of($$ select api.verify_ticket_chain(gen_random_uuid()) $$),
          'PT404 TICKET_NOT_FOUND', 'verify unknown: 404');

-- append-only for request roles (no privilege) and the owner (trigger)
select is(tests.error_of($$ update qms.ticket_events set type = 'ticket.forged' $$), '42501 ',
          'an agent cannot update events');
select tests.reset_role();
select is(tests.error_of($$ update qms.ticket_events set type = 'ticket.forged' $$), 'PT405 APPEND_ONLY',
          'even the owner cannot update events');
select is(tests.error_of($$ delete from qms.ticket_events $$),
          'PT405 APPEND_ONLY', 'even the owner cannot delete events');

-- tampering (owner, inside this test transaction only) breaks the chain at the tampered ticket_seq.
-- ALTER TABLE refuses a table with pending deferred trigger events: run the notification trigger's now.
set constraints qms.ticket_events_notify immediate;
alter table qms.ticket_events disable trigger ticket_events_append_only;
update qms.ticket_events set payload = jsonb_set(payload, '{changes,counter_id}', 'null')
where ticket_id = (select id from t_ids where name = 'third') and ticket_seq = 2;
alter table qms.ticket_events enable trigger ticket_events_append_only;
select is(api_result - 'ticket_id' - 'event_count', '{"ok": false, "broken_at": 2}'::jsonb,
          'a tampered payload breaks the chain at ticket_seq 2')
from (select tests.authenticate_as('qms_supervisor', tests.claims('qms_supervisor', tests.fx('ta'),
                                   array[tests.fx('a1')]::uuid[]))) s,
     lateral (select api.verify_ticket_chain((select id from t_ids where name = 'third')) as api_result) r;
select tests.reset_role();
select results_eq($$ select count(*)::int, min(broken_at) from qms.verify_ticket_chains(tests.fx('ta')) where not ok $$,
                  $$ values (1, 2) $$, 'the tenant-wide check finds exactly that ticket');
-- a re-hashed forgery is caught by the next link / the ticket row's last hash
alter table qms.ticket_events disable trigger ticket_events_append_only;
update qms.ticket_events e set hash = qms.ticket_event_hash(e.prev_hash, e.tenant_id, e.ticket_id, e.ticket_seq, e.type, e.payload)
where ticket_id = (select id from t_ids where name = 'third') and ticket_seq = 2;
alter table qms.ticket_events enable trigger ticket_events_append_only;
select is(qms.ticket_chain_break(tests.fx('ta'), (select id from t_ids where name = 'third')), 3,
          'a re-hashed forgery breaks at the next event');

-- queue snapshot for staff
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('ta'),
                                                       array[tests.fx('a1')]::uuid[]));
create temp table t_snap as select api.queue_snapshot(tests.fx('a1')) as s;
select is((select s -> 'services' -> 0 ->> 'name' from t_snap), 'Loans', 'services sorted by name');
select is((select (x ->> 'waiting_count')::int from t_snap, jsonb_array_elements(s -> 'services') x where x ->> 'name' = 'Teller'),
          1, 'one ticket waits at Teller (one held, one serving)');
select is((select x -> 'waiting' -> 0 ->> 'ticket_id' from t_snap, jsonb_array_elements(s -> 'services') x where x ->> 'name' = 'Teller'),
          (select id::text from t_ids where name = 'second'), 'the waiting ticket with its position');
select is((select s -> 'counters' -> 0 -> 'ticket' ->> 'status' from t_snap), 'serving', 'the counter shows its active ticket');
select is((select x -> 'held' -> 0 ->> 'ticket_number' from t_snap, jsonb_array_elements(s -> 'services') x where x ->> 'name' = 'Teller'),
          (select ticket_number from qms.tickets where status = 'held'), 'held tickets are listed (to unhold them)');
select ok((select x -> 'waiting' -> 0 ? 'estimated_wait_seconds' from t_snap, jsonb_array_elements(s -> 'services') x where x ->> 'name' = 'Teller'),
          'waiting tickets carry their estimated wait');
select ok((select bool_and(x ? 'sla_minutes') from t_snap, jsonb_array_elements(s -> 'services') x), 'services carry sla_minutes');
select ok((select (s ->> 'as_of_seq')::bigint <= (select max(seq) from qms.ticket_events) from t_snap), 'as_of_seq is a seq');
select ok((select s::text !~* 'phone|email|secret' from t_snap), 'no contact data in the snapshot');
select is(tests.error_of($$ select api.queue_snapshot(tests.fx('a2')) $$), 'PT404 BRANCH_NOT_FOUND',
          'a branch outside branch_ids is not found');

-- display snapshot for a device of A1 (its branch only)
select tests.authenticate_as('qms_device', tests.claims('qms_device', tests.fx('ta'),
                                                        array[tests.fx('a1')]::uuid[]));
select is((select jsonb_agg(x ->> 'ticket_number') from jsonb_array_elements(
               api.display_snapshot(tests.fx('a1'), tests.fx('hall')) -> 'now_calling') x),
          (select jsonb_agg(ticket_number) from qms.tickets where status = 'serving'), 'the board shows the serving ticket');
select is(api.display_snapshot(tests.fx('a1')) -> 'now_calling' -> 0 ->> 'counter_name', 'Counter 1',
          'with the counter name');
select is(tests.error_of($$ select api.display_snapshot(tests.fx('a2')) $$), 'PT404 BRANCH_NOT_FOUND',
          'a device sees only its branch');
select is(tests.error_of($$ select api.display_snapshot(tests.fx('a1'), last_n => 0) $$), 'PT400 INVALID_LAST_N',
          'last_n is validated');
select is(tests.error_of($$ select api.queue_snapshot(tests.fx('a1')) $$), '42501 ',
          'a device cannot read the staff queue');

-- tenant B sees nothing of A
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('tb')));
select is(tests.error_of($$ select api.ticket_events((select id from t_ids where name = 'third')) $$), 'PT404 TICKET_NOT_FOUND',
          'another tenant cannot read the events');
select is(tests.error_of($$ select api.queue_snapshot(tests.fx('a1')) $$), 'PT404 BRANCH_NOT_FOUND',
          'another tenant cannot read the queue');
select tests.reset_role();

select * from finish();
rollback;
