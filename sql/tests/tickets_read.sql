-- api.get_ticket, api.get_public_ticket, api.cancel_public_ticket and create_ticket's status_url: every role,
-- every error (SQLSTATE and reason key), the secret, idempotent cancel, and that platform functions are
-- not in the public contract.
begin;
set search_path = tests, public;
select plan(37);
\ir _engine_fixture.sql
create temp table tk (k text primary key, v jsonb not null);
grant all on tk to public;
create function pg_temp.tk(p_k text) returns jsonb language sql stable as $$ select v from pg_temp.tk where k = p_k $$;
create function pg_temp.id(p_k text) returns uuid language sql stable as $$ select (pg_temp.tk(p_k) ->> 'ticket_id')::uuid $$;
-- The secret of a ticket, read from its status_url: /apps/public/#t=<ticket_id>.<secret>
create function pg_temp.secret(p_k text) returns text language sql stable as $$
    select split_part(split_part(pg_temp.tk(p_k) ->> 'status_url', '#t=', 2), '.', 2) $$;

-- Issue two tickets from the kiosk of branch X.
select pg_temp.as_device();
insert into tk values ('t1', api.create_ticket(pg_temp.fx('sa'), 'kiosk')), ('t2', api.create_ticket(pg_temp.fx('sa'), 'kiosk'));
select ok(pg_temp.tk('t1') ->> 'status_url' ~ ('^/apps/public/#t=' || pg_temp.id('t1') || '\.[0-9a-f]{32}$'),
          'create_ticket answers status_url: the public page with the ticket id and a 32-hex secret');
select isnt(pg_temp.secret('t1'), pg_temp.secret('t2'), 'every ticket has its own secret');
select tests.reset_role();
select is((select access_secret_hash from qms.tickets where ticket_id = pg_temp.id('t1')),
          sha256(convert_to(pg_temp.secret('t1'), 'UTF8')), 'only the sha256 of the secret is stored');
select is((select count(*)::int from qms.ticket_events e
           where e.ticket_id = pg_temp.id('t1') and e.payload::text like '%' || pg_temp.secret('t1') || '%'), 0,
          'the secret is in no event');

-- A kiosk's offline ticket keeps its printed number.
select pg_temp.as_device();
select is(api.create_ticket(pg_temp.fx('sb'), 'kiosk', offline_number => 'L-007') ->> 'ticket_number', 'L-007',
          'a synced offline ticket keeps the number the kiosk printed');
select is(tests.error_of(format('select api.create_ticket(%L, %L, offline_number => %L)', pg_temp.fx('sb'), 'staff', 'L-008')),
          'PT400 INVALID_OFFLINE_NUMBER', 'only a kiosk sends an offline number');
select is(tests.error_of(format('select api.create_ticket(%L, %L, offline_number => %L)', pg_temp.fx('sb'), 'kiosk', 'nope')),
          'PT400 INVALID_OFFLINE_NUMBER', 'an offline number looks like PREFIX-NNN');
select tests.reset_role();

-- api.get_ticket: staff and devices of the branch.
select pg_temp.as_agent();
select is(api.get_ticket(pg_temp.id('t2')) - 'estimated_wait_seconds', (pg_temp.tk('t2') - 'status_url' - 'estimated_wait_seconds'),
          'an agent of the branch reads the ticket as create_ticket answered it (without the secret)');
select is((api.get_ticket(pg_temp.id('t2')) ->> 'position')::int, 2, 'get_ticket reports the position while waiting');
select pg_temp.as_supervisor();
select is(api.get_ticket(pg_temp.id('t1')) ->> 'ticket_number', pg_temp.tk('t1') ->> 'ticket_number', 'a supervisor reads it');
select pg_temp.as_admin();
select is(api.get_ticket(pg_temp.id('t1')) ->> 'status', 'waiting', 'a tenant admin reads it');
select pg_temp.as_device();
select is(api.get_ticket(pg_temp.id('t1')) ->> 'ticket_id', pg_temp.id('t1')::text, 'the issuing kiosk reads it');
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', pg_temp.fx('ta'), array[pg_temp.fx('by')]));
select is(tests.error_of(format('select api.get_ticket(%L)', pg_temp.id('t1'))), 'PT404 TICKET_NOT_FOUND',
          'an agent of another branch gets TICKET_NOT_FOUND');
select pg_temp.as_agent_b();
select is(tests.error_of(format('select api.get_ticket(%L)', pg_temp.id('t1'))), 'PT404 TICKET_NOT_FOUND',
          'another tenant gets TICKET_NOT_FOUND');
select pg_temp.as_agent();
select is(tests.error_of(format('select api.get_ticket(%L)', gen_random_uuid())), 'PT404 TICKET_NOT_FOUND',
          'an unknown ticket is TICKET_NOT_FOUND');
select tests.authenticate_as('qms_agent', '{"role": "qms_agent"}');
select is(tests.error_of(format('select api.get_ticket(%L)', pg_temp.id('t1'))), 'PT401 TENANT_REQUIRED',
          'claims without a tenant are TENANT_REQUIRED');
select tests.authenticate_as('qms_analyst', tests.claims('qms_analyst', pg_temp.fx('ta')));
select is(tests.error_of(format('select api.get_ticket(%L)', pg_temp.id('t1'))), '42501 ',
          'an analyst may not read tickets');
select tests.authenticate_as('qms_anon', '{"role": "qms_anon"}');
select is(tests.error_of(format('select api.get_ticket(%L)', pg_temp.id('t1'))), '42501 ',
          'the anonymous role may not call get_ticket');

-- api.get_public_ticket: the customer, with the secret only.
select is(api.get_public_ticket(pg_temp.id('t2'), pg_temp.secret('t2')) - 'created_at' - 'estimated_wait_seconds',
          jsonb_build_object('ticket_id', pg_temp.id('t2'), 'ticket_number', pg_temp.tk('t2') ->> 'ticket_number',
                             'status', 'waiting', 'service_name', 'Teller', 'branch_name', 'Branch X',
                             'branch_timezone', 'Asia/Jakarta', 'counter_name', null, 'called_at', null,
                             'can_cancel', true, 'version', 1, 'position', 2),
          'the public view: number, service, branch, status, position, nothing else');
select is(tests.error_of(format('select api.get_public_ticket(%L, %L)', pg_temp.id('t2'), pg_temp.secret('t1'))),
          'PT404 TICKET_NOT_FOUND', 'another ticket''s secret is TICKET_NOT_FOUND');
select is(tests.error_of(format('select api.get_public_ticket(%L, %L)', pg_temp.id('t2'), '')),
          'PT404 TICKET_NOT_FOUND', 'an empty secret is TICKET_NOT_FOUND');
select is(tests.error_of(format('select api.get_public_ticket(%L, null)', pg_temp.id('t2'))),
          'PT404 TICKET_NOT_FOUND', 'a null secret is TICKET_NOT_FOUND');
select is(tests.error_of(format('select api.get_public_ticket(%L, %L)', gen_random_uuid(), pg_temp.secret('t2'))),
          'PT404 TICKET_NOT_FOUND', 'an unknown ticket is TICKET_NOT_FOUND, the same answer');

-- Called: the counter's name appears; the customer can no longer cancel.
select pg_temp.as_agent();
select is(api.call_next(pg_temp.fx('c1')) #>> '{ticket,ticket_id}', pg_temp.id('t1')::text, 'the agent calls t1');
select tests.authenticate_as('qms_anon', '{"role": "qms_anon"}');
select is(api.get_public_ticket(pg_temp.id('t1'), pg_temp.secret('t1')) - 'created_at' - 'called_at',
          jsonb_build_object('ticket_id', pg_temp.id('t1'), 'ticket_number', pg_temp.tk('t1') ->> 'ticket_number',
                             'status', 'called', 'service_name', 'Teller', 'branch_name', 'Branch X',
                             'branch_timezone', 'Asia/Jakarta', 'counter_name', 'Counter 1', 'can_cancel', false,
                             'version', 2, 'position', null, 'estimated_wait_seconds', null),
          'once called the public view names the counter');
select is((api.get_public_ticket(pg_temp.id('t2'), pg_temp.secret('t2')) ->> 'position')::int, 1,
          'the next customer moves up to position 1');
select is(tests.error_of(format('select api.cancel_public_ticket(%L, %L)', pg_temp.id('t1'), pg_temp.secret('t1'))),
          'PT409 INVALID_TRANSITION', 'a called ticket cannot be cancelled by the customer');

-- api.cancel_public_ticket: the customer's own cancel, idempotent.
select is(tests.error_of(format('select api.cancel_public_ticket(%L, %L)', pg_temp.id('t2'), pg_temp.secret('t1'))),
          'PT404 TICKET_NOT_FOUND', 'cancelling with a wrong secret is TICKET_NOT_FOUND');
select is(api.cancel_public_ticket(pg_temp.id('t2'), pg_temp.secret('t2'), '00000000-0000-4000-8000-000000000001')
          ->> 'status', 'cancelled', 'the customer cancels their waiting ticket');
select is(api.cancel_public_ticket(pg_temp.id('t2'), pg_temp.secret('t2'), '00000000-0000-4000-8000-000000000001')
          ->> 'status', 'cancelled', 'a retry with the same request_id answers the same');
select is(tests.error_of(format('select api.cancel_public_ticket(%L, %L, %L)', pg_temp.id('t2'), pg_temp.secret('t2'),
                                '00000000-0000-4000-8000-000000000002')),
          'PT409 INVALID_TRANSITION', 'a new cancel of a cancelled ticket is INVALID_TRANSITION');
select tests.reset_role();
select is((select array_agg(type || ':' || coalesce(payload ->> 'reason', '') || ':' || (actor ->> 'role') order by ticket_seq)
           from qms.ticket_events where ticket_id = pg_temp.id('t2')),
          array['ticket.created::qms_device', 'ticket.cancelled:customer:qms_anon'],
          'one cancel event, reason customer, actor the anonymous role');
select is(qms.ticket_chain_break(pg_temp.fx('ta'), pg_temp.id('t2')), null, 'the hash chain holds, with the ticket row''s tail');
select pg_temp.as_agent();
select is(tests.error_of(format('select api.cancel_public_ticket(%L, %L)', pg_temp.id('t1'), pg_temp.secret('t1'))),
          '42501 ', 'staff cancel through ticket_action, not the public cancel');

-- Platform functions are not in the public contract.
select tests.reset_role();
select is((select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where n.nspname = 'api' and (p.proname like 'relay%' or p.proname like 'sweep%' or p.proname like 'purge%')),
          0, 'no relay, sweep or purge function in api');
select is((select array_agg(r order by r) from unnest(array['qms_anon', 'qms_device', 'qms_agent', 'qms_supervisor',
                                                             'qms_admin', 'qms_analyst', 'qms_authenticator']) r
           where has_schema_privilege(r, 'worker', 'usage')), null,
          'only qms_worker may use the worker schema');
select ok(has_function_privilege('qms_worker', 'worker.relay_ack(text, bigint)', 'execute')
          and has_function_privilege('qms_worker', 'worker.sweep_no_shows(integer)', 'execute'),
          'the worker runs the relay and the sweeper');
select * from finish();
rollback;
