-- The ticket event log written by the engine: folding payload->'changes' rebuilds each ticket, the
-- per-ticket hash chain verifies, event counters match, actors come from the claims.
begin;
set search_path = tests, public;
select plan(8);
-- Fixture (as the owner): tenant A with branches X (Asia/Jakarta) and Y, tenant B. Ids via pg_temp.fx(key).
\ir _engine_fixture.sql
select tests.set_policy(pg_temp.fx('ta'), pg_temp.fx('bx'), pg_temp.fx('sb'), '{"return_to_queue": true}');

-- A day at branch X through the api.
select pg_temp.as_agent();
select api.create_ticket(pg_temp.fx('sa'), 'kiosk', 'vip', 'dddddddd-0000-0000-0000-000000000001');
select api.create_ticket(pg_temp.fx('sa')), api.create_ticket(pg_temp.fx('sb')), api.create_ticket(pg_temp.fx('sb'));
create temp table called as select (api.call_next(pg_temp.fx('c1')) -> 'ticket' ->> 'ticket_id')::uuid as id;
grant select on called to public;
select api.ticket_action((select id from called), 'recall', pg_temp.fx('c1'));
select api.ticket_action((select id from called), 'start', pg_temp.fx('c1'));
select api.ticket_action((select id from called), 'transfer', target_service_id => pg_temp.fx('sb'), reason => 'loan');
select api.ticket_action((select (api.call_next(pg_temp.fx('c3')) -> 'ticket' ->> 'ticket_id')::uuid), 'mark_no_show',
                         pg_temp.fx('c3'));
select api.ticket_action(t.ticket_id, 'hold') from qms.tickets t where t.service_id = pg_temp.fx('sa') and t.status = 'waiting';
select api.ticket_action(t.ticket_id, 'unhold') from qms.tickets t where t.service_id = pg_temp.fx('sa') and t.status = 'held';
select api.ticket_action(t.ticket_id, 'cancel') from qms.tickets t where t.service_id = pg_temp.fx('sa') and t.status = 'waiting';
create temp table done as select (api.call_next(pg_temp.fx('c3')) -> 'ticket' ->> 'ticket_id')::uuid as id;
select api.ticket_action((select id from done), 'start', pg_temp.fx('c3'));
select api.ticket_action((select id from done), 'complete', pg_temp.fx('c3'));
select tests.reset_role();

select is((select count(*)::int from qms.tickets), 4, 'four tickets');
select is((select count(*)::int from qms.ticket_events), 16, 'sixteen events');

-- Fold: the last value of every column over the ticket's events in ticket_seq order.
create temp view folded as
    select e.ticket_id, jsonb_object_agg(c.key, c.value) as state
    from (select distinct on (e.ticket_id, c.key) e.ticket_id, c.key, c.value
          from qms.ticket_events e, jsonb_each(e.payload -> 'changes') c
          order by e.ticket_id, c.key, e.ticket_seq desc) c
    join (select distinct ticket_id from qms.ticket_events) e using (ticket_id)
    group by e.ticket_id;
select is((select count(*)::int from qms.tickets t join folded f using (ticket_id)
           where f.state = (to_jsonb(t) - 'tenant_id' - 'ticket_id' - 'version' - 'event_count' - 'last_event_hash'
                            - 'access_secret_hash' - 'priority_rank')), 4,
          'folding each ticket''s changes reproduces the ticket row');
select is((select array_agg(type order by ticket_seq) from qms.ticket_events where ticket_id = (select id from called)),
          array['ticket.created', 'ticket.called', 'ticket.recalled', 'ticket.serving', 'ticket.transferred',
                'ticket.called', 'ticket.returned', 'ticket.called', 'ticket.serving', 'ticket.done'],
          'the transferred ticket''s history, in order');

-- Hash chain, recomputed here from its definition.
select is((select count(*)::int from qms.ticket_events e
           where e.hash = sha256(coalesce(e.prev_hash, '') || convert_to(jsonb_build_object(
                     'tenant_id', e.tenant_id, 'ticket_id', e.ticket_id, 'ticket_seq', e.ticket_seq, 'type', e.type,
                     'payload', e.payload)::text, 'UTF8'))
             and e.prev_hash is not distinct from (select p.hash from qms.ticket_events p
                                                   where p.ticket_id = e.ticket_id and p.ticket_seq = e.ticket_seq - 1)),
          16, 'every event hash verifies and links to the previous event of its ticket');
select is((select count(*)::int from qms.tickets t
           where t.event_count = (select max(ticket_seq) from qms.ticket_events e where e.ticket_id = t.ticket_id)
             and t.version = t.event_count
             and t.last_event_hash = (select e.hash from qms.ticket_events e
                                      where e.ticket_id = t.ticket_id and e.ticket_seq = t.event_count)), 4,
          'each ticket''s event_count and last_event_hash point at its last event');
select is((select count(*)::int from qms.ticket_events where actor = '{"sub": "agent-x", "role": "qms_agent"}'), 16,
          'the actor of every event comes from the claims');
select is((select request_id from qms.ticket_events where type = 'ticket.created' and request_id is not null),
          'dddddddd-0000-0000-0000-000000000001'::uuid, 'the request_id is recorded on the event');

select * from finish();
rollback;
