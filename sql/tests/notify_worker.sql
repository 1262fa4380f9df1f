-- The sender's SQL: claim with lease (skip locked), finish (sent / retry with backoff / dead), lease
-- expiry recovery, provider reports, admin re-drive of dead letters, templates; errors and RLS.
begin;
set search_path = tests, public;
select plan(40);
\ir _engine_fixture.sql
select tests.keep_contacts(pg_temp.fx('ta'));
create function pg_temp.flush() returns void language plpgsql as $$
begin
    set constraints qms.ticket_events_notify immediate;
    set constraints qms.ticket_events_notify deferred;
end $$;
create function pg_temp.as_worker() returns void language sql as $$
    select tests.authenticate_as('qms_worker', '{"role": "qms_worker", "sub": "notify"}') $$;
create function pg_temp.status(p_id uuid) returns text language sql as $$
    select status::text from qms.notification_deliveries where delivery_id = p_id $$;
select pg_temp.as_admin();
select api.set_notification_settings(enabled => true, max_attempts => 2);
select pg_temp.as_agent();
select api.create_ticket(pg_temp.fx('sa'), contact => '{"email": "ana@example.com", "language": "id", "consent": true}');
select api.create_ticket(pg_temp.fx('sa'), contact => '{"email": "budi@example.com", "consent": true}');
select pg_temp.flush();
select tests.reset_role();
select set_config('fx.d1', (select delivery_id from qms.notification_deliveries d join qms.ticket_contacts c using (tenant_id, ticket_id)
                            where c.email = 'ana@example.com')::text, true);
select set_config('fx.d2', (select delivery_id from qms.notification_deliveries d join qms.ticket_contacts c using (tenant_id, ticket_id)
                            where c.email = 'budi@example.com')::text, true);

-- Errors ----------------------------------------------------------------------------------------------
select pg_temp.as_agent();
select is(tests.error_of($$ select worker.claim_notifications('w') $$), '42501 ', 'request roles cannot use schema worker');
select pg_temp.as_worker();
select is(tests.error_of($$ select worker.claim_notifications('w', 0) $$), 'PT400 INVALID_MAX_ROWS', 'max_rows is checked');
select is(tests.error_of($$ select worker.claim_notifications('w', 10, 1) $$), 'PT400 INVALID_LEASE', 'the lease is checked');
select is(tests.error_of(format($$ select worker.finish_notification(%L, %L, 'w', 'lost') $$, pg_temp.fx('ta'), tests.fx('d1'))),
          'PT400 INVALID_OUTCOME', 'unknown outcome');
select is(tests.error_of(format($$ select worker.finish_notification(%L, %L, 'w', 'sent') $$, pg_temp.fx('ta'), tests.fx('d1'))),
          'PT409 LEASE_LOST', 'finishing an unclaimed delivery: LEASE_LOST');
select is(tests.error_of($$ select worker.record_delivery_report('x', 'read') $$), 'PT400 INVALID_REPORT_STATUS',
          'unknown report status');
select is(tests.error_of(format($$ select worker.suppress_address(%L, 'fax', 'x', 'STOP') $$, pg_temp.fx('ta'))),
          'PT400 INVALID_CHANNEL', 'unknown channel');

-- Claim ------------------------------------------------------------------------------------------------
create temp table claimed as select * from worker.claim_notifications('w1', max_rows => 1) c;
select is((select count(*)::int from claimed), 1, 'max_rows caps the claim');
select is((select c -> 'delivery_id' from claimed c)::text, to_jsonb(tests.fx('d1'))::text, 'oldest first');
select is((select (c -> 'vars') - 'status_url' from claimed c),
          '{"ticket_number": "A-001", "branch_name": "Branch X", "service_name": "Teller", "position": 1, "eta_minutes": 0}'::jsonb,
          'the claim carries the template variables');
select ok((select c -> 'vars' ->> 'status_url' from claimed c) ~ ('^/apps/public/#t=' || (select c ->> 'ticket_id' from claimed c) || '\.[0-9a-f]{32}$'),
          'an issue notice carries the status page''s link that create_ticket answered');
select is((select c ->> 'recipient' from claimed c), 'ana@example.com', 'and the recipient');
select is((select c -> 'template' ->> 'subject' from claimed c), 'Nomor antrean Anda {{ ticket_number }} di {{ branch_name }}',
          'the shipped default in the customer''s language');
select is((select c ->> 'idempotency_key' from claimed c), 'qms-' || tests.fx('d1'), 'a stable idempotency key');
select is(pg_temp.status(tests.fx('d1')), 'sending', 'claimed: sending');
select is((select count(*)::int from worker.claim_notifications('w2', 10)), 1, 'a second sender takes only the other one');
select is((select count(*)::int from worker.claim_notifications('w2', 10)), 0, 'nothing left to claim');
select is((select array_agg(worker order by delivery_id) from qms.notification_attempts),
          (select array_agg(w order by d) from (values (tests.fx('d1'), 'w1'), (tests.fx('d2'), 'w2')) v(d, w)),
          'one attempt row each, with its worker');

-- Finish --------------------------------------------------------------------------------------------------
select is(tests.error_of(format($$ select worker.finish_notification(%L, %L, 'w2', 'sent') $$, pg_temp.fx('ta'), tests.fx('d1'))),
          'PT409 LEASE_LOST', 'only the lease owner may finish');
select is(worker.finish_notification(pg_temp.fx('ta'), tests.fx('d1'), 'w1', 'sent', provider_message_id => 'm-1',
                                     provider => 'smtp', template_version => 0), 'sent', 'sent');
select is(tests.error_of(format($$ select worker.finish_notification(%L, %L, 'w1', 'sent') $$, pg_temp.fx('ta'), tests.fx('d1'))),
          'PT409 LEASE_LOST', 'a second finish of one attempt is refused');
select is(worker.record_delivery_report('m-1', 'delivered'), 1, 'a delivery report marks it delivered');
select is(worker.record_delivery_report('m-1', 'delivered'), 0, 'a repeated report is a no-op');
select is(pg_temp.status(tests.fx('d1')), 'delivered', 'delivered');

select is(worker.finish_notification(pg_temp.fx('ta'), tests.fx('d2'), 'w2', 'temporary_failure', error => '421 busy',
                                     retry_base_seconds => 60), 'temporary_failure', 'a transient failure is retried');
select ok((select next_attempt_at between now() + interval '30 seconds' and now() + interval '60 seconds'
           from qms.notification_deliveries where delivery_id = tests.fx('d2')), 'after base * 2^0 with jitter');
select is((select count(*)::int from worker.claim_notifications('w1', 10)), 0, 'not before it is due');
update qms.notification_deliveries set next_attempt_at = now() where delivery_id = tests.fx('d2');
select is((select (c ->> 'attempt')::int from worker.claim_notifications('w1', 10) c), 2, 'due again: attempt 2');
-- the sender dies: its lease runs out, the next claim recovers the delivery; this was its last attempt
update qms.notification_deliveries set lease_expires_at = now() - interval '1 second' where delivery_id = tests.fx('d2');
select is((select count(*)::int from worker.claim_notifications('w3', 10)), 0, 'the last attempt''s lease expired: nothing to claim');
select is(pg_temp.status(tests.fx('d2')), 'dead', 'so the delivery is dead');
select is((select array_agg(outcome order by attempt) from qms.notification_attempts where delivery_id = tests.fx('d2')),
          '{temporary_failure,lease_expired}', 'every attempt is logged with its outcome');
select tests.reset_role();

-- Dead letters: the admin lists and re-drives ---------------------------------------------------------------------
select pg_temp.as_admin();
select is((select jsonb_agg(r ->> 'delivery_id') from jsonb_array_elements(api.list_notification_deliveries(status => 'dead')) r),
          jsonb_build_array(tests.fx('d2')), 'the dead letters');
select is(tests.error_of(format($$ select api.redrive_notification(%L) $$, tests.fx('d1'))), 'PT409 DELIVERY_NOT_DEAD',
          'only dead letters are re-driven');
select is(tests.error_of($$ select api.redrive_notification(gen_random_uuid()) $$), 'PT404 DELIVERY_NOT_FOUND', 'unknown delivery');
select is(api.redrive_notification(tests.fx('d2')) ->> 'status', 'queued', 're-driven: queued again');
select is(jsonb_array_length(api.list_notification_attempts(tests.fx('d2'))), 2, 'its attempts are kept');
select pg_temp.as_supervisor();
select is(tests.error_of(format($$ select api.redrive_notification(%L) $$, tests.fx('d2'))), '42501 ', 'supervisors only read');
select tests.reset_role();
select pg_temp.as_worker();
select is((select (c ->> 'attempt')::int from worker.claim_notifications('w1', 10) c), 3, 'the re-driven delivery goes on at attempt 3');
select is(worker.finish_notification(pg_temp.fx('ta'), tests.fx('d2'), 'w1', 'permanent_failure', error => '550 no such user'),
          'dead', 'a permanent failure is dead at once');
select tests.authenticate_as('qms_worker', tests.claims('qms_worker', pg_temp.fx('tb')));
update qms.notification_deliveries set status = 'queued' where delivery_id = tests.fx('d2');
select is((select count(*)::int from worker.claim_notifications('wb', 10)), 0, 'a worker scoped to tenant B claims nothing of A');
select tests.reset_role();

select * from finish();
rollback;
