-- Retention of notification data: contacts go after the tenant's retention_days once the ticket ended,
-- finished deliveries and skips after keep_history; errors; a purged contact is never sent to.
begin;
set search_path = tests, public;
select plan(10);
\ir _engine_fixture.sql
create function pg_temp.flush() returns void language plpgsql as $$
begin
    set constraints qms.ticket_events_notify immediate;
    set constraints qms.ticket_events_notify deferred;
end $$;
update qms.tenants set pii_policy = '{"contacts": true, "retention_days": 7}' where tenant_id = pg_temp.fx('ta');
insert into qms.notification_settings (tenant_id, enabled) values (pg_temp.fx('ta'), true);
select pg_temp.as_agent();
select set_config('fx.old', api.create_ticket(pg_temp.fx('sa'), contact => '{"email": "old@example.com", "consent": true}') ->> 'ticket_id', true);
select set_config('fx.new', api.create_ticket(pg_temp.fx('sa'), contact => '{"email": "new@example.com", "consent": true}') ->> 'ticket_id', true);
select set_config('fx.pending', api.create_ticket(pg_temp.fx('sa'), contact => '{"email": "p@example.com", "consent": true}') ->> 'ticket_id', true);
select pg_temp.flush();
select tests.reset_role();
-- the old ticket ended 8 days ago, the new one 1 day ago; the old ticket's delivery is long finished
update qms.tickets set status = 'done', ended_at = now() - interval '8 days', completed_at = now() - interval '8 days'
where ticket_id = tests.fx('old');
update qms.tickets set status = 'done', ended_at = now() - interval '1 day', completed_at = now() - interval '1 day'
where ticket_id = tests.fx('new');
update qms.notification_deliveries set status = 'sent', updated_at = now() - interval '40 days' where ticket_id = tests.fx('old');
-- ended long ago too, but its notice is still queued
update qms.tickets set status = 'done', ended_at = now() - interval '8 days', completed_at = now() - interval '8 days'
where ticket_id = tests.fx('pending');

select tests.authenticate_as('qms_worker', '{"role": "qms_worker", "sub": "retention"}');
select is(tests.error_of($$ select worker.purge_notification_data(0) $$), 'PT400 INVALID_MAX_ROWS', 'max_rows is checked');
select is(tests.error_of($$ select worker.purge_notification_data(10, interval '-1 day') $$), 'PT400 INVALID_INTERVAL',
          'keep_history is checked');
select is(worker.purge_notification_data(), 2, 'one contact and one old delivery purged');
select is(worker.purge_notification_data(), 0, 'nothing more: idempotent');
select tests.reset_role();
select is((select array_agg(ticket_id order by email) from qms.ticket_contacts), array[tests.fx('new'), tests.fx('pending')],
          'the contact past the retention period is gone, the recent one kept');
select is((select count(*)::int from qms.ticket_contacts where ticket_id = tests.fx('pending')), 1,
          'a contact whose notice is still queued is kept until it is sent');
select is((select count(*)::int from qms.notification_deliveries where ticket_id = tests.fx('old')), 0, 'the old delivery is gone');
select is((select count(*)::int from qms.notification_deliveries where ticket_id = tests.fx('new')), 1, 'the recent one is kept');
-- a queued delivery whose contact was purged carries no recipient: the sender fails it for good
delete from qms.ticket_contacts where ticket_id in (tests.fx('new'), tests.fx('pending'));
delete from qms.notification_deliveries where ticket_id = tests.fx('pending');
select tests.authenticate_as('qms_worker', '{"role": "qms_worker", "sub": "notify"}');
select is((select c ->> 'recipient' from worker.claim_notifications('w') c), null, 'a purged contact leaves no recipient');
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', pg_temp.fx('ta')));
select is(tests.error_of($$ select worker.purge_notification_data() $$), '42501 ', 'request roles cannot purge');
select tests.reset_role();
select * from finish();
rollback;
