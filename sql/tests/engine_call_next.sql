-- api.call_next and api.set_counter_status: order (FIFO, priority, anti-starvation), skills, break, hold,
-- transferred-to-counter tickets, reasons, errors, idempotency, RLS.
begin;
set search_path = tests, public;
select plan(41);
-- Fixture (as the owner): tenant A with branches X (Asia/Jakarta) and Y, tenant B. Ids via pg_temp.fx(key).
\ir _engine_fixture.sql
-- Owner-side shortcuts: finish whatever a counter holds, or everything still open.
create function pg_temp.free(p_counter text) returns void language sql security definer as $$
    update qms.tickets set status = 'done', completed_at = now(), ended_at = now()
    where counter_id = pg_temp.fx(p_counter) and status in ('called', 'serving') $$;
create function pg_temp.clear_all() returns void language sql security definer as $$
    update qms.tickets set status = 'cancelled', ended_at = now() where status in ('waiting', 'called', 'serving', 'held') $$;
create function pg_temp.next_number(p_counter text) returns text language plpgsql as $$
declare v jsonb;
begin
    perform pg_temp.free(p_counter);
    v := api.call_next(pg_temp.fx(p_counter));
    return coalesce(v -> 'ticket' ->> 'ticket_number', v ->> 'reason');
end $$;
create function pg_temp.issue(p_service text, p_class text default 'regular') returns text language sql as $$
    select api.create_ticket(pg_temp.fx(p_service), 'staff', p_class) ->> 'ticket_number' $$;

-- FIFO ------------------------------------------------------------------------------------------
select pg_temp.as_agent();
select pg_temp.issue('sa'), pg_temp.issue('sa'), pg_temp.issue('sa');
select is(pg_temp.next_number('c1'), 'A-001', 'FIFO: the oldest ticket first');
select is(pg_temp.next_number('c1'), 'A-002', 'FIFO: then the next');
select is(pg_temp.next_number('c1'), 'A-003', 'FIFO: then the last');
select is(pg_temp.next_number('c1'), 'queue_empty', 'an empty queue is a normal answer');
select is(api.call_next(pg_temp.fx('c1')), '{"ticket": null, "reason": "queue_empty"}'::jsonb,
          'queue_empty comes with a null ticket');

-- The policy is read only while a streak runs: sa has had no priority call, so it has no call-state row.
select tests.reset_role();
set local track_functions = 'pl';
create function pg_temp.policy_reads() returns bigint language sql as $$
    select coalesce(pg_stat_get_xact_function_calls('qms.effective_policy(uuid, uuid, uuid)'::regprocedure), 0) $$;
create function pg_temp.next_with_policy_reads(p_counter text) returns text language plpgsql as $$
declare v_before bigint := pg_temp.policy_reads();
begin
    return pg_temp.next_number(p_counter) || ' ' || (pg_temp.policy_reads() - v_before);
end $$;
select pg_temp.as_agent();
select is(pg_temp.next_with_policy_reads('c1'), 'queue_empty 0', 'no streak: call_next does not read the policy');

-- Priority classes (anti-starvation out of the way: ratio 10) ---------------------------------------
select tests.reset_role();
select tests.set_policy(pg_temp.fx('ta'), pg_temp.fx('bx'), pg_temp.fx('sb'), '{"priority_ratio": 10}');
select pg_temp.as_agent();
select pg_temp.issue('sb', 'regular'), pg_temp.issue('sb', 'priority'), pg_temp.issue('sb', 'vip'),
       pg_temp.issue('sb', 'emergency'), pg_temp.issue('sb', 'vip');
select is(pg_temp.next_number('c3'), 'B-004', 'emergency first');
select is(pg_temp.next_number('c3'), 'B-003', 'then vip');
select is(pg_temp.next_number('c3'), 'B-005', 'vip in FIFO order');
select is(pg_temp.next_number('c3'), 'B-002', 'then priority');
select is(pg_temp.next_number('c3'), 'B-001', 'regular last');

-- Anti-starvation: N = policy priority_ratio (2 here) --------------------------------------------
select tests.reset_role();
select tests.set_policy(pg_temp.fx('ta'), pg_temp.fx('bx'), pg_temp.fx('sa'), '{"priority_ratio": 2}');
select pg_temp.as_agent();
select pg_temp.issue('sa', 'regular'), pg_temp.issue('sa', 'regular'), pg_temp.issue('sa', 'priority'),
       pg_temp.issue('sa', 'vip'), pg_temp.issue('sa', 'priority'), pg_temp.issue('sa', 'priority');
-- A-004 R, A-005 R, A-006 P, A-007 V, A-008 P, A-009 P
select is(pg_temp.next_number('c1'), 'A-007', 'vip first');
select is(pg_temp.next_with_policy_reads('c1'), 'A-006 1', 'priority second; a running streak reads the policy');
select is(pg_temp.next_number('c1'), 'A-004', 'after 2 consecutive priority calls the oldest regular is served');
select is(pg_temp.next_number('c1'), 'A-008', 'then priority again');
select is(pg_temp.next_number('c1'), 'A-009', 'second priority call of the new streak');
select is(pg_temp.next_number('c1'), 'A-005', 'and the next regular after N more');
select tests.reset_role();
select is((select consecutive_priority from qms.service_call_state where service_id = pg_temp.fx('sa')), 0,
          'a regular call resets the streak');
select pg_temp.free('c1');
select pg_temp.clear_all();

-- Skills, multi-service counters ---------------------------------------------------------------
select pg_temp.as_agent();
select pg_temp.issue('sa');
select is(pg_temp.next_number('c3'), 'queue_empty', 'a counter gets only its mapped services (c3 serves B only)');
select pg_temp.issue('sb', 'regular'), pg_temp.issue('sa', 'vip');
select is(pg_temp.next_number('c2'), 'A-011', 'a multi-service counter takes the best class across its services');
select is(pg_temp.next_number('c2'), 'A-010', 'then FIFO across services');
select is(pg_temp.next_number('c2'), 'B-006', 'then the other service');

-- Break, hold, transfer to a counter ------------------------------------------------------------
select pg_temp.free('c2');
select pg_temp.issue('sa');
select is(api.set_counter_status(pg_temp.fx('c1'), 'break') ->> 'status', 'break', 'an agent takes a break');
select is(api.call_next(pg_temp.fx('c1')), '{"ticket": null, "reason": "counter_unavailable"}'::jsonb,
          'a counter on break gets nothing');
select is(api.set_counter_status(pg_temp.fx('c1'), 'available') ->> 'status', 'available', 'back to available');
select lives_ok(format('select api.ticket_action(%L, %L)',
                       (select ticket_id from qms.tickets where ticket_number = 'A-012'), 'hold'), 'hold A-012');
select is(pg_temp.next_number('c1'), 'queue_empty', 'a held ticket is never picked');
select lives_ok(format('select api.ticket_action(%L, %L, target_counter_id => %L)',
                       (select ticket_id from qms.tickets where ticket_number = 'A-012'), 'unhold', null), 'unhold A-012');
select lives_ok(format('select api.ticket_action(%L, %L, target_counter_id => %L)',
                       (select ticket_id from qms.tickets where ticket_number = 'A-012'), 'transfer', pg_temp.fx('c2')),
                'transfer A-012 to counter 2');
select is(pg_temp.next_number('c1'), 'no_compatible_ticket', 'a ticket sent to another counter is not for c1');
select is(pg_temp.next_number('c2'), 'A-012', 'the target counter gets it');
select is(tests.error_of(format('select api.call_next(%L)', pg_temp.fx('c2'))), 'PT409 COUNTER_BUSY',
          'a counter with a called or serving ticket cannot call again');

-- Errors and RLS --------------------------------------------------------------------------------
select is(tests.error_of(format('select api.call_next(%L)', gen_random_uuid())),
          'PT404 COUNTER_NOT_FOUND', 'an unknown counter is not found');
select is(tests.error_of(format('select api.call_next(%L)', pg_temp.fx('cy'))), 'PT404 COUNTER_NOT_FOUND',
          'an agent of branch X cannot call at a counter of branch Y');
select is(tests.error_of(format('select api.set_counter_status(%L, %L)', pg_temp.fx('c1'), 'lunch')),
          'PT400 INVALID_COUNTER_STATUS', 'an unknown counter status is refused');
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', pg_temp.fx('ta'), array[pg_temp.fx('bx')], 'agent-c1',
                             jsonb_build_object('counter_ids', array[pg_temp.fx('c1')])));
select is(tests.error_of(format('select api.call_next(%L)', pg_temp.fx('c3'))), 'PT403 COUNTER_FORBIDDEN',
          'COUNTER_FORBIDDEN for a counter not in the counter_ids claim');
select is(tests.error_of(format('select api.set_counter_status(%L, %L)', pg_temp.fx('c3'), 'break')),
          'PT403 COUNTER_FORBIDDEN', 'set_counter_status: COUNTER_FORBIDDEN');
select pg_temp.as_agent_b();
select is(tests.error_of(format('select api.call_next(%L)', pg_temp.fx('c1'))), 'PT404 COUNTER_NOT_FOUND',
          'tenant B cannot call at tenant A''s counter');
select tests.authenticate_as('qms_device', tests.claims('qms_device', pg_temp.fx('ta'), array[pg_temp.fx('bx')]));
select is(tests.error_of(format('select api.call_next(%L)', pg_temp.fx('c1'))),
          '42501 ', 'a device cannot call tickets');

-- Idempotent call ------------------------------------------------------------------------------
select pg_temp.as_agent();
select pg_temp.issue('sa');
create temp table first_call as
    select api.call_next(pg_temp.fx('c1'), 'bbbbbbbb-0000-0000-0000-000000000001') as r;
select is(api.call_next(pg_temp.fx('c1'), 'bbbbbbbb-0000-0000-0000-000000000001'), (select r from first_call),
          'a retried call_next returns the same ticket (no COUNTER_BUSY, no second call)');
select tests.reset_role();
select is((select count(*)::int from qms.ticket_events where type = 'ticket.called'
           and ticket_id = ((select r from first_call) -> 'ticket' ->> 'ticket_id')::uuid), 1,
          'one called event for the retried call');

select * from finish();
rollback;
