-- qms.display_area_id (which boards show a ticket: its counter's area, else its own) and api.display_snapshot,
-- which filters with it and names the branch's counters; RLS: another tenant's counter counts as no counter.
-- (The relay's envelope and the gateway's topics with the same rule: tests/test_display_area.py.)
begin;
set search_path = tests, public;
select plan(13);
\ir _engine_fixture.sql

-- Branch X: areas Hall and Upstairs; Teller (sa) is a Hall service; Counter 1 is moved upstairs, Counter 2
-- has no area.
insert into fx values ('hall', tests.add_area(pg_temp.fx('ta'), pg_temp.fx('bx'), 'Hall')),
    ('up', tests.add_area(pg_temp.fx('ta'), pg_temp.fx('bx'), 'Upstairs'));
select pg_temp.as_admin();
select is(api.update_service(pg_temp.fx('sa'), area_id => pg_temp.fx('hall')) ->> 'area_id', pg_temp.fx('hall')::text,
          'Teller is a Hall service');
select is(api.update_counter(pg_temp.fx('c1'), area_id => pg_temp.fx('up')) ->> 'area_id', pg_temp.fx('up')::text,
          'Counter 1 is upstairs');

-- The rule.
select is(qms.display_area_id(pg_temp.fx('ta'), pg_temp.fx('c1'), pg_temp.fx('hall')), pg_temp.fx('up'),
          'a counter with an area: its area');
select is(qms.display_area_id(pg_temp.fx('ta'), pg_temp.fx('c2'), pg_temp.fx('hall')), pg_temp.fx('hall'),
          'a counter without an area: the ticket''s area');
select is(qms.display_area_id(pg_temp.fx('ta'), null, pg_temp.fx('hall')), pg_temp.fx('hall'),
          'no counter (waiting): the ticket''s area');
select is(qms.display_area_id(pg_temp.fx('ta'), pg_temp.fx('c2'), null), null, 'neither has one: no area');
select pg_temp.as_agent_b();
select is(qms.display_area_id(pg_temp.fx('ta'), pg_temp.fx('c1'), pg_temp.fx('hall')), pg_temp.fx('hall'),
          'another tenant''s caller does not see the counter (RLS): it counts as none');

-- Two Teller tickets, one called at each counter; the boards.
select tests.reset_role();
create temp table calls (k text primary key, number text);
grant all on calls to public;
select pg_temp.as_agent();
insert into calls values ('up', (select api.create_ticket(pg_temp.fx('sa')) ->> 'ticket_number')),
    ('none', (select api.create_ticket(pg_temp.fx('sa')) ->> 'ticket_number'));
select is(api.call_next(pg_temp.fx('c1')) -> 'ticket' ->> 'ticket_number', (select number from calls where k = 'up'),
          'Counter 1 calls the first');
select is(api.call_next(pg_temp.fx('c2')) -> 'ticket' ->> 'ticket_number', (select number from calls where k = 'none'),
          'Counter 2 the second');
select pg_temp.as_device();
create function pg_temp.board(p_area uuid) returns text[] language sql as $$
    select coalesce(array_agg(x ->> 'ticket_number' order by x ->> 'ticket_number'), '{}')
    from jsonb_array_elements(api.display_snapshot(pg_temp.fx('bx'), p_area) -> 'now_calling') x $$;
select is(pg_temp.board(pg_temp.fx('up')), array[(select number from calls where k = 'up')],
          'the upstairs board shows the call at the upstairs counter');
select is(pg_temp.board(pg_temp.fx('hall')), array[(select number from calls where k = 'none')],
          'the hall board shows the call at the counter without an area, not the one upstairs');
select is(pg_temp.board(null), (select array_agg(number order by number) from calls), 'the branch board shows both');
select is(api.display_snapshot(pg_temp.fx('bx'), pg_temp.fx('hall')) -> 'counters',
          (select jsonb_object_agg(counter_id, name) from qms.counters where branch_id = pg_temp.fx('bx')),
          'the snapshot names every counter of the branch');

select * from finish();
rollback;
