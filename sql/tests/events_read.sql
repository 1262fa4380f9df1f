-- Read side of the event log: ticket_events, rehydrate, chain verification (tampering), append-only,
-- snapshots per role, RLS between tenants and branches.
begin;
set search_path = tests, public;
select plan(38);

-- Fixture (owner): tenant A with branches A1, A2; tenant B with branch B1.
insert into qms.tenants (tenant_id, name, slug) values
    ('a0000000-0000-0000-0000-000000000000', 'Acme', 'acme'),
    ('b0000000-0000-0000-0000-000000000000', 'Beta', 'beta');
insert into qms.branches (tenant_id, branch_id, name) values
    ('a0000000-0000-0000-0000-000000000000', 'a1000000-0000-0000-0000-000000000000', 'A1'),
    ('a0000000-0000-0000-0000-000000000000', 'a2000000-0000-0000-0000-000000000000', 'A2'),
    ('b0000000-0000-0000-0000-000000000000', 'b1000000-0000-0000-0000-000000000000', 'B1');
insert into qms.areas (tenant_id, area_id, branch_id, name) values
    ('a0000000-0000-0000-0000-000000000000', 'aa100000-0000-0000-0000-000000000000',
     'a1000000-0000-0000-0000-000000000000', 'Hall');
insert into qms.services (tenant_id, service_id, branch_id, name, prefix) values
    ('a0000000-0000-0000-0000-000000000000', 'a1500000-0000-0000-0000-000000000001',
     'a1000000-0000-0000-0000-000000000000', 'Teller', 'A'),
    ('a0000000-0000-0000-0000-000000000000', 'a1500000-0000-0000-0000-000000000002',
     'a1000000-0000-0000-0000-000000000000', 'Loans', 'L'),
    ('b0000000-0000-0000-0000-000000000000', 'b1500000-0000-0000-0000-000000000001',
     'b1000000-0000-0000-0000-000000000000', 'Teller', 'A');
insert into qms.counters (tenant_id, counter_id, branch_id, area_id, name, status) values
    ('a0000000-0000-0000-0000-000000000000', 'a1c00000-0000-0000-0000-000000000001',
     'a1000000-0000-0000-0000-000000000000', 'aa100000-0000-0000-0000-000000000000', 'Counter 1', 'available');
insert into qms.counter_services (tenant_id, branch_id, counter_id, service_id) values
    ('a0000000-0000-0000-0000-000000000000', 'a1000000-0000-0000-0000-000000000000',
     'a1c00000-0000-0000-0000-000000000001', 'a1500000-0000-0000-0000-000000000001');

create temp table t_ids (name text primary key, id uuid);
grant all on t_ids to public;

-- A sequence of actions through the engine, as an agent of branch A1.
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', 'a0000000-0000-0000-0000-000000000000',
                                                       array['a1000000-0000-0000-0000-000000000000']::uuid[]));
insert into t_ids select 'first', (api.create_ticket(service_id => 'a1500000-0000-0000-0000-000000000001',
                                                     contact => null) ->> 'ticket_id')::uuid;
insert into t_ids select 'second', (api.create_ticket(service_id => 'a1500000-0000-0000-0000-000000000001') ->> 'ticket_id')::uuid;
insert into t_ids select 'third', (api.create_ticket(service_id => 'a1500000-0000-0000-0000-000000000001',
                                                     priority_class => 'vip') ->> 'ticket_id')::uuid;
select is(api.call_next('a1c00000-0000-0000-0000-000000000001') -> 'ticket' ->> 'ticket_id',
          (select id::text from t_ids where name = 'third'), 'the vip ticket is called first');
select lives_ok($$ select api.ticket_action((select id from t_ids where name = 'third'), 'recall',
                                            counter_id => 'a1c00000-0000-0000-0000-000000000001') $$, 'recall');
select lives_ok($$ select api.ticket_action((select id from t_ids where name = 'third'), 'start',
                                            counter_id => 'a1c00000-0000-0000-0000-000000000001') $$, 'start');
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
select throws_ok($$ select api.ticket_events(gen_random_uuid()) $$, 'PT404', 'ticket not found', 'unknown ticket: 404');

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
select throws_ok($$ select api.rehydrate_ticket(gen_random_uuid()) $$, 'PT404', null, 'rehydrate unknown: 404');

-- verify
select is(api.verify_ticket_chain((select id from t_ids where name = 'third')) - 'ticket_id' - 'event_count',
          '{"ok": true, "broken_at": null}'::jsonb, 'an untouched chain verifies');
select throws_ok($$ select api.verify_ticket_chain(gen_random_uuid()) $$, 'PT404', null, 'verify unknown: 404');

-- append-only for request roles (no privilege) and the owner (trigger)
select throws_ok($$ update qms.ticket_events set type = 'ticket.forged' $$, '42501', null,
                 'an agent cannot update events');
select tests.reset_role();
select throws_ok($$ update qms.ticket_events set type = 'ticket.forged' $$, 'PT405', null,
                 'even the owner cannot update events');
select throws_ok($$ delete from qms.ticket_events $$, 'PT405', null, 'even the owner cannot delete events');

-- tampering (owner, inside this test transaction only) breaks the chain at the tampered ticket_seq
alter table qms.ticket_events disable trigger ticket_events_append_only;
update qms.ticket_events set payload = jsonb_set(payload, '{changes,counter_id}', 'null')
where ticket_id = (select id from t_ids where name = 'third') and ticket_seq = 2;
alter table qms.ticket_events enable trigger ticket_events_append_only;
select is(api_result - 'ticket_id' - 'event_count', '{"ok": false, "broken_at": 2}'::jsonb,
          'a tampered payload breaks the chain at ticket_seq 2')
from (select tests.authenticate_as('qms_supervisor', tests.claims('qms_supervisor', 'a0000000-0000-0000-0000-000000000000',
                                   array['a1000000-0000-0000-0000-000000000000']::uuid[]))) s,
     lateral (select api.verify_ticket_chain((select id from t_ids where name = 'third')) as api_result) r;
select tests.reset_role();
select results_eq($$ select count(*)::int, min(broken_at) from qms.verify_ticket_chains('a0000000-0000-0000-0000-000000000000') where not ok $$,
                  $$ values (1, 2) $$, 'the tenant-wide check finds exactly that ticket');
-- a re-hashed forgery is caught by the next link / the ticket row's last hash
alter table qms.ticket_events disable trigger ticket_events_append_only;
update qms.ticket_events e set hash = qms.ticket_event_hash(e.prev_hash, e.tenant_id, e.ticket_id, e.ticket_seq, e.type, e.payload)
where ticket_id = (select id from t_ids where name = 'third') and ticket_seq = 2;
alter table qms.ticket_events enable trigger ticket_events_append_only;
select is(qms.ticket_chain_break('a0000000-0000-0000-0000-000000000000', (select id from t_ids where name = 'third')), 3,
          'a re-hashed forgery breaks at the next event');

-- queue snapshot for staff
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', 'a0000000-0000-0000-0000-000000000000',
                                                       array['a1000000-0000-0000-0000-000000000000']::uuid[]));
create temp table t_snap as select api.queue_snapshot('a1000000-0000-0000-0000-000000000000') as s;
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
select throws_ok($$ select api.queue_snapshot('a2000000-0000-0000-0000-000000000000') $$, 'PT404', null,
                 'a branch outside branch_ids is not found');

-- display snapshot for a device of A1 (its branch only)
select tests.authenticate_as('qms_device', tests.claims('qms_device', 'a0000000-0000-0000-0000-000000000000',
                                                        array['a1000000-0000-0000-0000-000000000000']::uuid[]));
select is((select jsonb_agg(x ->> 'ticket_number') from jsonb_array_elements(
               api.display_snapshot('a1000000-0000-0000-0000-000000000000', 'aa100000-0000-0000-0000-000000000000') -> 'now_calling') x),
          (select jsonb_agg(ticket_number) from qms.tickets where status = 'serving'), 'the board shows the serving ticket');
select is(api.display_snapshot('a1000000-0000-0000-0000-000000000000') -> 'now_calling' -> 0 ->> 'counter_name', 'Counter 1',
          'with the counter name');
select throws_ok($$ select api.display_snapshot('a2000000-0000-0000-0000-000000000000') $$, 'PT404', null,
                 'a device sees only its branch');
select throws_ok($$ select api.display_snapshot('a1000000-0000-0000-0000-000000000000', last_n => 0) $$, 'PT400', null,
                 'last_n is validated');
select throws_ok($$ select api.queue_snapshot('a1000000-0000-0000-0000-000000000000') $$, '42501', null,
                 'a device cannot read the staff queue');

-- tenant B sees nothing of A
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', 'b0000000-0000-0000-0000-000000000000'));
select throws_ok($$ select api.ticket_events((select id from t_ids where name = 'third')) $$, 'PT404', null,
                 'another tenant cannot read the events');
select throws_ok($$ select api.queue_snapshot('a1000000-0000-0000-0000-000000000000') $$, 'PT404', null,
                 'another tenant cannot read the queue');
select tests.reset_role();

select * from finish();
rollback;
