-- api.create_ticket: numbering, format, business day, validation, contacts, idempotency, devices, RLS.
begin;
set search_path = tests, public;
select plan(35);
-- Fixture (as the owner): tenant A with branches X (Asia/Jakarta) and Y, tenant B. Ids via pg_temp.fx(key).
\ir _engine_fixture.sql

-- Happy path, numbering and format -------------------------------------------------------------
select pg_temp.as_agent();
select is(api.create_ticket(pg_temp.fx('sa')) ->> 'ticket_number', 'A-001', 'first ticket of the day is A-001');
select is(api.create_ticket(pg_temp.fx('sa')) ->> 'ticket_number', 'A-002', 'numbers count up per service');
select is(api.create_ticket(pg_temp.fx('sb')) ->> 'ticket_number', 'B-001', 'each service has its own counter');
select is((api.create_ticket(pg_temp.fx('sa'), 'kiosk', 'priority') - 'ticket_id' - 'queued_at' - 'created_at'
           - 'tenant_id' - 'branch_id' - 'service_id' - 'estimated_wait_seconds' - 'status_url'),
          '{"status": "waiting", "channel": "kiosk", "priority_class": "priority", "returned": false,
            "ticket_number": "A-003", "number_seq": 3, "counter_id": null, "area_id": null, "called_at": null,
            "served_at": null, "completed_at": null, "ended_at": null, "transfer_note": null,
            "target_counter_id": null, "version": 1, "event_count": 1, "position": 1,
            "business_date": null}'::jsonb
          || jsonb_build_object('business_date', (now() at time zone 'Asia/Jakarta')::date),
          'the ticket object carries the contract fields; a priority ticket is first in line');
select is(api.create_ticket(pg_temp.fx('sa')) ->> 'position', '4', 'position counts waiting tickets in call order');
select tests.reset_role();
select is((select business_date from qms.tickets where ticket_number = 'A-001'),
          (now() at time zone 'Asia/Jakarta')::date, 'business day is the date in the branch timezone');

-- Yesterday's counter (branch time) does not continue today; a policy changes the format.
insert into qms.ticket_number_counters (tenant_id, service_id, business_date, last_n)
values (pg_temp.fx('ta'), pg_temp.fx('sy'), (now() at time zone 'UTC')::date - 1, 41);
select tests.set_policy(pg_temp.fx('ta'), pg_temp.fx('by'), pg_temp.fx('sy'), '{"number_format": "{prefix}{n:04}"}');
select pg_temp.as_admin();
select is(api.create_ticket(pg_temp.fx('sy')) ->> 'ticket_number', 'Y0001',
          'a new business day restarts at 1 and the policy number_format applies');
select tests.reset_role();
select is(qms.format_ticket_number('{prefix}-{n:03}', 'A', 7), 'A-007', 'default format pads to three digits');
select is(qms.format_ticket_number('{prefix}-{n:03}', 'A', 1234), 'A-1234', 'padding never truncates');
select is(qms.format_ticket_number('{n}', 'A', 5), '5', 'plain {n}');
select is(qms.business_date('Asia/Jakarta', '2024-03-01 20:00:00+00'), '2024-03-02'::date,
          '20:00 UTC is already the next day in Jakarta');

-- Validation ------------------------------------------------------------------------------------
select pg_temp.as_agent();
select is(tests.error_of(format('select api.create_ticket(%L, %L)', pg_temp.fx('sa'), 'fax')), 'PT400 INVALID_CHANNEL',
          'an unknown channel is refused');
select is(tests.error_of(format('select api.create_ticket(%L, %L, %L)', pg_temp.fx('sa'), 'kiosk', 'royal')),
          'PT400 INVALID_PRIORITY_CLASS', 'an unknown priority class is refused');
select is(tests.error_of(format('select api.create_ticket(%L)', gen_random_uuid())), 'PT404 SERVICE_NOT_FOUND',
          'SERVICE_NOT_FOUND for an unknown service');
select is(tests.error_of(format('select api.create_ticket(%L)', pg_temp.fx('sy'))), 'PT404 SERVICE_NOT_FOUND',
          'SERVICE_NOT_FOUND for a service outside the agent''s branches');
select is(tests.error_of(format('select api.create_ticket(%L, contact => %L)', pg_temp.fx('sa'), '{"phone": "+62811111111"}')),
          'PT400 CONSENT_REQUIRED', 'contact data is stored only with the customer''s consent');
select is(tests.error_of(format('select api.create_ticket(%L, contact => %L)', pg_temp.fx('sa'), '{"phone": "call me", "consent": true}')),
          'PT400 INVALID_CONTACT', 'a malformed phone number is refused');
select pg_temp.as_admin();
select api.update_service(pg_temp.fx('sb'), is_active => false);
select api.update_branch(pg_temp.fx('by'), hours => '{"mon": [["00:00", "00:01"]]}');
select is(tests.error_of(format('select api.create_ticket(%L)', pg_temp.fx('sb'))), 'PT404 SERVICE_NOT_FOUND',
          'an inactive service is not found');
select is(tests.error_of(format('select api.create_ticket(%L)', pg_temp.fx('sy'))), 'PT409 BRANCH_CLOSED',
          'BRANCH_CLOSED outside the branch hours');
select api.update_branch(pg_temp.fx('by'), hours => '{}');
select api.update_service(pg_temp.fx('sy'), hours => '{"sun": []}');
select is(tests.error_of(format('select api.create_ticket(%L)', pg_temp.fx('sy'))), 'PT409 SERVICE_CLOSED',
          'SERVICE_CLOSED outside the service hours');
select tests.reset_role();
select ok(qms.is_open('{"mon": [["08:00", "15:00"]]}', 'Asia/Jakarta', '2024-03-04 02:00:00+00'),
          'Monday 09:00 in Jakarta is open');
select ok(not qms.is_open('{"mon": [["08:00", "15:00"]]}', 'Asia/Jakarta', '2024-03-04 08:30:00+00'),
          'Monday 15:30 in Jakarta is closed (end is exclusive)');
select ok(not qms.is_open('{"mon": [["08:00", "15:00"]]}', 'UTC', '2024-03-05 09:00:00+00'),
          'a day missing from configured hours is closed');
select ok(qms.is_open('{}', 'UTC', now()), 'no hours configured means open');
select is((select count(*)::int from qms.tickets where service_id in (pg_temp.fx('sb'), pg_temp.fx('sy'))), 2,
          'refused requests issued nothing');

-- Contacts: stored with consent, never in events (the tenant keeps contacts: ticket_contacts_policy.sql
-- covers the refusal) ------------------------------------------------------------------------------------
select tests.reset_role();
select tests.keep_contacts(pg_temp.fx('ta'));
select pg_temp.as_device();
select lives_ok(format('select api.create_ticket(%L, %L, contact => %L)', pg_temp.fx('sa'), 'kiosk',
                       '{"phone": "+62812345678", "email": "a@b.example", "language": "id", "consent": true}'),
                'a kiosk issues a ticket with a consented contact');
select is(tests.error_of(format('select api.create_ticket(%L, %L)', pg_temp.fx('sy'), 'kiosk')), 'PT404 SERVICE_NOT_FOUND',
          'a device issues only in its own branch');
select tests.reset_role();
select is((select count(*)::int from qms.ticket_contacts c join qms.tickets t using (tenant_id, ticket_id)
           where c.phone = '+62812345678' and c.language = 'id' and t.channel = 'kiosk'), 1,
          'the contact is stored in qms.ticket_contacts');
select is((select count(*)::int from qms.ticket_events where payload::text like '%62812345678%'
           or payload::text like '%b.example%'), 0, 'contact data never appears in events');

-- Idempotency -----------------------------------------------------------------------------------
select pg_temp.as_agent();
create temp table first_reply as
    select api.create_ticket(pg_temp.fx('sa'), 'staff', request_id => 'aaaaaaaa-0000-0000-0000-000000000001') as r;
select is(api.create_ticket(pg_temp.fx('sa'), 'staff', request_id => 'aaaaaaaa-0000-0000-0000-000000000001'),
          (select r from first_reply), 'a retried request gets the same ticket back');
select is(tests.error_of(format('select api.create_ticket(%L, %L, request_id => %L)', pg_temp.fx('sa'), 'web',
                        'aaaaaaaa-0000-0000-0000-000000000001')), 'PT409 IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_KEY_REUSED with other arguments');
select is(tests.error_of(format('select api.call_next(%L, %L)', pg_temp.fx('c1'), 'aaaaaaaa-0000-0000-0000-000000000001')),
          'PT409 IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_KEY_REUSED with another command');
select tests.reset_role();
select is((select count(*)::int from qms.ticket_events e
           where e.ticket_id = ((select r from first_reply) ->> 'ticket_id')::uuid), 1,
          'the replay wrote no second event');

-- RLS: tenant B sees nothing of tenant A ------------------------------------------------------------
select pg_temp.as_agent_b();
select is(tests.error_of(format('select api.create_ticket(%L)', pg_temp.fx('sa'))), 'PT404 SERVICE_NOT_FOUND',
          'tenant B cannot issue in tenant A''s service');
select is((select count(*)::int from qms.tickets), 0, 'tenant B sees no tickets of tenant A');
select tests.reset_role();

select * from finish();
rollback;
