-- api.ticket_action: the full transition matrix (allowed and refused), counter rules, return-to-queue,
-- transfer (to a service, to a counter), out-of-order call, errors, idempotency, audit, RLS.
begin;
set search_path = tests, public;
select plan(43);
-- Fixture (as the owner): tenant A with branches X (Asia/Jakarta) and Y, tenant B. Ids via pg_temp.fx(key).
\ir _engine_fixture.sql
-- A ticket of service p_service in state p_status, made through the api by a supervisor of branch X: issued,
-- then held or cancelled, or called to p_counter and taken on (start, complete, mark_no_show).
create function pg_temp.ticket_at(p_status text, p_service text default 'sa', p_counter text default 'c1')
    returns uuid language plpgsql as $$
declare
    v_prev jsonb := tests.enter_as('qms_supervisor', tests.claims('qms_supervisor', pg_temp.fx('ta'),
                                                                  array[pg_temp.fx('bx')], 'fixture-sup'));
    v_ticket uuid := (api.create_ticket(pg_temp.fx(p_service)) ->> 'ticket_id')::uuid;
    v_counter uuid := pg_temp.fx(p_counter);
    v_action text;
begin
    foreach v_action in array case p_status
        when 'waiting' then '{}'::text[] when 'held' then '{hold}' when 'cancelled' then '{cancel}'
        when 'called' then '{call}' when 'serving' then '{call,start}' when 'done' then '{call,start,complete}'
        when 'no_show' then '{call,mark_no_show}' end loop
        perform api.ticket_action(v_ticket, v_action, v_counter);
    end loop;
    perform tests.leave(v_prev);
    return v_ticket;
end $$;
-- Take a ticket out of the way through the api: cancel it while it waits, finish it once called.
create function pg_temp.retire(p_ticket uuid) returns void language plpgsql as $$
declare
    v_prev jsonb := tests.enter_as('qms_supervisor', tests.claims('qms_supervisor', pg_temp.fx('ta'),
                                                                  array[pg_temp.fx('bx')], 'fixture-sup'));
    v_ticket jsonb := api.get_ticket(p_ticket);
    v_action text;
begin
    foreach v_action in array case v_ticket ->> 'status'
        when 'waiting' then '{cancel}' when 'held' then '{cancel}' when 'called' then '{start,complete}'
        when 'serving' then '{complete}' else '{}'::text[] end loop
        perform api.ticket_action(p_ticket, v_action, (v_ticket ->> 'counter_id')::uuid);
    end loop;
    perform tests.leave(v_prev);
end $$;
create function pg_temp.t(p_ticket uuid) returns jsonb language sql security definer as $$
    select to_jsonb(t) from qms.tickets t where ticket_id = p_ticket $$;
create function pg_temp.events(p_ticket uuid) returns int language sql security definer as $$
    select count(*)::int from qms.ticket_events where ticket_id = p_ticket $$;
create function pg_temp.last_event(p_ticket uuid) returns text language sql security definer as $$
    select type from qms.ticket_events where ticket_id = p_ticket order by ticket_seq desc limit 1 $$;

-- The matrix: every action from every state, as a supervisor at counter 1 (default policy).
create function pg_temp.matrix() returns setof text language plpgsql as $$
declare
    v_allowed constant jsonb := '{"recall": {"called": "called"}, "start": {"called": "serving"},
        "complete": {"serving": "done"}, "hold": {"waiting": "held"}, "unhold": {"held": "waiting"},
        "transfer": {"waiting": "waiting", "called": "waiting", "serving": "waiting"},
        "cancel": {"waiting": "cancelled", "held": "cancelled"}, "mark_no_show": {"called": "no_show"},
        "call": {"waiting": "called"}}';
    v_action text;
    v_status text;
    v_ticket uuid;
    v_before jsonb;
    v_events int;
    v_state text;
    v_detail text;
    v_expect text;
    v_checked int := 0;
    v_passed int := 0;
begin
    foreach v_action in array array['recall', 'start', 'complete', 'hold', 'unhold', 'transfer', 'cancel',
                                    'mark_no_show', 'call'] loop
        foreach v_status in array enum_range(null::qms.ticket_status)::text[] loop
            v_ticket := pg_temp.ticket_at(v_status);
            v_before := pg_temp.t(v_ticket);
            v_events := pg_temp.events(v_ticket);
            v_expect := v_allowed -> v_action ->> v_status;
            perform pg_temp.as_supervisor();
            begin
                perform api.ticket_action(v_ticket, v_action, pg_temp.fx('c1'),
                                          target_service_id => case when v_action = 'transfer' then pg_temp.fx('sb') end);
                v_state := 'ok';
            exception when others then
                get stacked diagnostics v_detail = pg_exception_detail;
                v_state := sqlstate || ' ' || v_detail;
            end;
            perform tests.reset_role();
            if v_expect is not null then
                if v_state <> 'ok' then
                    return next format('%s from %s refused (%s) but is allowed', v_action, v_status, v_state);
                elsif pg_temp.t(v_ticket) ->> 'status' <> v_expect or pg_temp.events(v_ticket) <> v_events + 1 then
                    return next format('%s from %s: status %s, %s events', v_action, v_status,
                                       pg_temp.t(v_ticket) ->> 'status', pg_temp.events(v_ticket));
                end if;
            else
                if v_state <> 'PT409 INVALID_TRANSITION' then
                    return next format('%s from %s: expected INVALID_TRANSITION, got %s', v_action, v_status, v_state);
                elsif pg_temp.t(v_ticket) <> v_before or pg_temp.events(v_ticket) <> v_events then
                    return next format('%s from %s: refused but the row or the log changed', v_action, v_status);
                end if;
            end if;
            perform pg_temp.retire(v_ticket);
            v_checked := v_checked + 1;
            v_passed := v_passed + (v_state = 'ok')::int;
        end loop;
    end loop;
    return next format('checked %s, allowed %s', v_checked, v_passed);
end $$;
select is(array(select pg_temp.matrix()), array['checked 63, allowed 12'],
          'every allowed transition works with one event; every other one is INVALID_TRANSITION and changes nothing');
select is((select count(*)::int from qms.ticket_transitions()), 16, 'the transition table has 16 rows');

-- Counter rules ---------------------------------------------------------------------------------
create temp table tk as select pg_temp.ticket_at('called') as id;
grant select on tk to public;
select pg_temp.as_agent();
select is(tests.error_of(format('select api.ticket_action(%L, %L)', (select id from tk), 'start')),
          'PT400 COUNTER_REQUIRED', 'start needs counter_id');
select is(tests.error_of(format('select api.ticket_action(%L, %L, %L)', (select id from tk), 'start', pg_temp.fx('c2'))),
          'PT409 WRONG_COUNTER', 'the ticket is at another counter');
select is(tests.error_of(format('select api.ticket_action(%L, %L, %L)', (select id from tk), 'dance', pg_temp.fx('c1'))),
          'PT400 INVALID_ACTION', 'an unknown action is refused');
select is(tests.error_of(format('select api.ticket_action(%L, %L, %L)', gen_random_uuid(), 'start', pg_temp.fx('c1'))),
          'PT404 TICKET_NOT_FOUND', 'TICKET_NOT_FOUND for an unknown ticket');
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', pg_temp.fx('ta'), array[pg_temp.fx('bx')], 'agent-c2',
                             jsonb_build_object('counter_ids', array[pg_temp.fx('c2')])));
select is(tests.error_of(format('select api.ticket_action(%L, %L, %L)', (select id from tk), 'start', pg_temp.fx('c1'))),
          'PT403 COUNTER_FORBIDDEN', 'COUNTER_FORBIDDEN for a counter the agent may not use');
select pg_temp.as_agent_b();
select is(tests.error_of(format('select api.ticket_action(%L, %L, %L)', (select id from tk), 'start', pg_temp.fx('c1'))),
          'PT404 TICKET_NOT_FOUND', 'tenant B cannot act on tenant A''s ticket');
select pg_temp.as_agent();
select is(api.ticket_action((select id from tk), 'recall', pg_temp.fx('c1')) ->> 'status', 'called', 'recall keeps it called');
select is(pg_temp.last_event((select id from tk)), 'ticket.recalled', 'recall writes ticket.recalled');
select is(api.ticket_action((select id from tk), 'start', pg_temp.fx('c1')) ->> 'status', 'serving', 'start serves it');
select is(pg_temp.last_event((select id from tk)), 'ticket.serving', 'start writes ticket.serving');
select is(api.ticket_action((select id from tk), 'complete', pg_temp.fx('c1')) ->> 'status', 'done', 'complete ends it');
select isnt(pg_temp.t((select id from tk)) ->> 'completed_at', null, 'completed_at is set');
select is(pg_temp.last_event((select id from tk)), 'ticket.done', 'complete writes ticket.done');

-- Policy: cancel_from and return_to_queue -------------------------------------------------------------
select tests.reset_role();
select tests.set_policy(pg_temp.fx('ta'), pg_temp.fx('bx'), null, '{"cancel_from": ["waiting", "held", "called"], "return_to_queue": true}');
update tk set id = pg_temp.ticket_at('called');
select pg_temp.as_agent();
select is(api.ticket_action((select id from tk), 'cancel') ->> 'status', 'cancelled', 'cancel_from may allow called');
select is(pg_temp.last_event((select id from tk)), 'ticket.cancelled', 'cancel writes ticket.cancelled');
select tests.reset_role();
update tk set id = pg_temp.ticket_at('called');
create temp table older as select pg_temp.ticket_at('waiting') as id;
grant select on older to public;
select pg_temp.as_agent();
create temp table ret as select api.ticket_action((select id from tk), 'mark_no_show', pg_temp.fx('c1')) as r;
select is(((select r from ret) ->> 'status', (select r from ret) ->> 'returned', (select r from ret) ->> 'counter_id'),
          ('waiting'::text, 'true'::text, null::text), 'return_to_queue: back to waiting, returned, counter cleared');
select is(pg_temp.last_event((select id from tk)), 'ticket.returned', 'a returned no-show writes ticket.returned');
select is((select r from ret) ->> 'position', '2', 'a returned ticket queues behind the tickets already waiting');
select is(api.call_next(pg_temp.fx('c1')) -> 'ticket' ->> 'ticket_id', (select id::text from older),
          'call_next takes the older waiting ticket first');

-- Transfer ----------------------------------------------------------------------------------------
select tests.reset_role();
select pg_temp.retire(((select r from ret) ->> 'ticket_id')::uuid);  -- the returned ticket waits no more
update tk set id = pg_temp.ticket_at('serving', 'sa', 'c2');
select pg_temp.as_supervisor();
select is(tests.error_of(format('select api.ticket_action(%L, %L)', (select id from tk), 'transfer')),
          'PT400 TRANSFER_TARGET_REQUIRED', 'transfer needs a target service or counter');
select is(tests.error_of(format('select api.ticket_action(%L, %L, target_service_id => %L)', (select id from tk), 'transfer',
                        gen_random_uuid())), 'PT404 SERVICE_NOT_FOUND', 'transfer to an unknown service');
select is(tests.error_of(format('select api.ticket_action(%L, %L, target_counter_id => %L)', (select id from tk), 'transfer',
                        pg_temp.fx('c3'))), 'PT400 COUNTER_NOT_MAPPED',
          'COUNTER_NOT_MAPPED: counter 3 does not serve A');
select is(tests.error_of(format('select api.ticket_action(%L, %L, target_counter_id => %L)', (select id from tk), 'transfer',
                        gen_random_uuid())), 'PT404 COUNTER_NOT_FOUND', 'transfer to an unknown counter');
select pg_temp.as_admin();
select is(tests.error_of(format('select api.ticket_action(%L, %L, target_service_id => %L)', (select id from tk), 'transfer',
                        pg_temp.fx('sy'))), 'PT400 TRANSFER_CROSS_BRANCH',
          'a ticket moves only within its branch');
select pg_temp.as_supervisor();
create temp table tr as select api.ticket_action((select id from tk), 'transfer', target_service_id => pg_temp.fx('sb'),
                                                 reason => 'needs a loan officer') as r;
select is(((select r from tr) ->> 'status', (select r from tr) ->> 'service_id', (select r from tr) ->> 'transfer_note',
           (select r from tr) ->> 'counter_id'),
          ('waiting'::text, pg_temp.fx('sb')::text, 'needs a loan officer'::text, null::text),
          'transfer to a service: waiting there with the note, counter cleared');
select is(pg_temp.last_event((select id from tk)), 'ticket.transferred', 'transfer writes ticket.transferred');
select is((select count(*)::int from audit.log where action = 'ticket.transfer' and target_id = (select id::text from tk)), 1,
          'the transfer is audited');
select is(api.ticket_action((select id from tk), 'transfer', target_counter_id => pg_temp.fx('c2')) ->> 'target_counter_id',
          pg_temp.fx('c2')::text, 'transfer to a counter keeps the service and targets the counter');
select is(api.call_next(pg_temp.fx('c3')) ->> 'reason', 'no_compatible_ticket', 'another counter of B does not get it');
select is(api.call_next(pg_temp.fx('c2')) -> 'ticket' ->> 'ticket_id', (select id::text from tk), 'the target counter does');

-- Out-of-order call (supervisors and admins) -----------------------------------------------------------
select tests.reset_role();
select pg_temp.retire(id) from tk;
select pg_temp.retire(id) from older;
update tk set id = pg_temp.ticket_at('waiting');
select pg_temp.as_agent();
select is(tests.error_of(format('select api.ticket_action(%L, %L, %L)', (select id from tk), 'call', pg_temp.fx('c1'))),
          'PT403 FORBIDDEN', 'an agent may not call out of order (FORBIDDEN)');
select pg_temp.as_supervisor();
select is(tests.error_of(format('select api.ticket_action(%L, %L, %L)', (select id from tk), 'call', pg_temp.fx('c3'))),
          'PT400 COUNTER_NOT_MAPPED', 'call: COUNTER_NOT_MAPPED');
select is(tests.error_of(format('select api.ticket_action(%L, %L, %L)', (select id from tk), 'call', gen_random_uuid())),
          'PT404 COUNTER_NOT_FOUND', 'call: COUNTER_NOT_FOUND');
select api.set_counter_status(pg_temp.fx('c1'), 'break');
select is(tests.error_of(format('select api.ticket_action(%L, %L, %L)', (select id from tk), 'call', pg_temp.fx('c1'))),
          'PT409 COUNTER_UNAVAILABLE', 'call: COUNTER_UNAVAILABLE on break');
select api.set_counter_status(pg_temp.fx('c1'), 'available');
select is(api.ticket_action((select id from tk), 'call', pg_temp.fx('c1')) ->> 'counter_id', pg_temp.fx('c1')::text,
          'a supervisor calls a specific ticket to counter 1');
select is(pg_temp.last_event((select id from tk)), 'ticket.called', 'the call writes ticket.called');
select is((select count(*)::int from audit.log where action = 'ticket.call' and target_id = (select id::text from tk)), 1,
          'the out-of-order call is audited');
select tests.reset_role();
create temp table tk2 as select pg_temp.ticket_at('waiting') as id;
grant select on tk2 to public;
select pg_temp.as_supervisor();
select is(tests.error_of(format('select api.ticket_action(%L, %L, %L)', (select id from tk2), 'call', pg_temp.fx('c1'))),
          'PT409 COUNTER_BUSY', 'call: COUNTER_BUSY');

-- Idempotency -------------------------------------------------------------------------------------
create temp table held as select api.ticket_action((select id from tk2), 'hold',
                                                   request_id => 'cccccccc-0000-0000-0000-000000000001') as r;
select is(api.ticket_action((select id from tk2), 'hold', request_id => 'cccccccc-0000-0000-0000-000000000001'),
          (select r from held), 'a retried hold returns the stored ticket, no INVALID_TRANSITION');
select is(pg_temp.events((select id from tk2)), 2, 'and writes one event (after ticket.created)');
select is(tests.error_of(format('select api.ticket_action(%L, %L, request_id => %L)', (select id from tk2), 'unhold',
                        'cccccccc-0000-0000-0000-000000000001')), 'PT409 IDEMPOTENCY_KEY_REUSED',
          'a request id reused with other arguments is refused');
select tests.reset_role();

select * from finish();
rollback;
