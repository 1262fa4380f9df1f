-- api.create_ticket and the tenant's contact policy: a contact is refused (PT400 CONTACT_NOT_ALLOWED, the
-- reason key of api.join_queue) unless the tenant's pii_policy.contacts is true; the refusal writes nothing.
begin;
set search_path = tests, public;
select plan(13);
\ir _engine_fixture.sql

-- Tenant A keeps no contact data (pii_policy without "contacts", the default).
select pg_temp.as_agent();
select is(tests.error_of(format('select api.create_ticket(%L, contact => %L)', pg_temp.fx('sa'),
                                '{"phone": "+62811111111", "consent": true}')),
          'PT400 CONTACT_NOT_ALLOWED', 'staff: a consented contact is refused while the tenant keeps none');
select pg_temp.as_device();
select is(tests.error_of(format('select api.create_ticket(%L, %L, contact => %L)', pg_temp.fx('sa'), 'kiosk',
                                '{"email": "a@b.example", "consent": true}')),
          'PT400 CONTACT_NOT_ALLOWED', 'a kiosk: the same refusal');
select tests.reset_role();
select is((select count(*)::int from qms.tickets where tenant_id = pg_temp.fx('ta')), 0,
          'the refused requests issued no ticket');
select is((select count(*)::int from qms.ticket_contacts where tenant_id = pg_temp.fx('ta')), 0,
          'and stored no contact');

-- No contact (SQL null or JSON null) is always fine.
select pg_temp.as_agent();
select lives_ok(format('select api.create_ticket(%L)', pg_temp.fx('sa')), 'without a contact: issued');
select lives_ok(format('select api.create_ticket(%L, contact => %L)', pg_temp.fx('sa'), 'null'),
                'a JSON null contact counts as none');

-- Another tenant's policy does not open tenant A.
select tests.reset_role();
update qms.tenants set pii_policy = '{"contacts": true}' where tenant_id = pg_temp.fx('tb');
select pg_temp.as_agent();
select is(tests.error_of(format('select api.create_ticket(%L, contact => %L)', pg_temp.fx('sa'),
                                '{"phone": "+62811111112", "consent": true}')),
          'PT400 CONTACT_NOT_ALLOWED', 'tenant B keeping contacts does not let tenant A keep them');

-- The admin lets customers leave contact data: then it is stored (with consent, as before).
select pg_temp.as_admin();
select is(api.update_tenant(pii_policy => '{"contacts": true, "retention_days": 30}') -> 'pii_policy' -> 'contacts',
          'true'::jsonb, 'the admin turns contacts on');
select pg_temp.as_agent();
select lives_ok(format('select api.create_ticket(%L, contact => %L)', pg_temp.fx('sa'),
                       '{"phone": "+62811111113", "consent": true}'), 'now a consented contact is accepted');
select tests.reset_role();
select is((select count(*)::int from qms.ticket_contacts where tenant_id = pg_temp.fx('ta')), 1, 'and stored');

-- Turned off again: refused again (explicit false); a retry of a ticket issued before still replays.
select pg_temp.as_agent();
select set_config('fx.replayed', api.create_ticket(pg_temp.fx('sa'), request_id => '00000000-0000-4000-8000-00000000c0de',
                  contact => '{"phone": "+62811111115", "consent": true}') ->> 'ticket_id', true);
select pg_temp.as_admin();
select is(api.update_tenant(pii_policy => '{"contacts": false}') -> 'pii_policy' -> 'contacts', 'false'::jsonb,
          'the admin turns contacts off');
select pg_temp.as_agent();
select is(tests.error_of(format('select api.create_ticket(%L, contact => %L)', pg_temp.fx('sa'),
                                '{"phone": "+62811111114", "consent": true}')),
          'PT400 CONTACT_NOT_ALLOWED', 'contacts: false refuses again');
select is(api.create_ticket(pg_temp.fx('sa'), request_id => '00000000-0000-4000-8000-00000000c0de',
                           contact => '{"phone": "+62811111115", "consent": true}') ->> 'ticket_id',
          current_setting('fx.replayed'), 'the retry of a ticket issued while contacts were on replays its answer');

select * from finish();
rollback;
