-- Notification templates (versions, activation, shipped defaults), providers (secrets never returned),
-- the sink's messages; errors with SQLSTATE and reason key, RLS between tenants.
begin;
set search_path = tests, public;
select plan(25);
\ir _engine_fixture.sql
create function pg_temp.as_admin_b() returns void language sql as $$
    select tests.authenticate_as('qms_admin', tests.claims('qms_admin', pg_temp.fx('tb'), null, 'admin-b')) $$;

select pg_temp.as_admin();
select is(api.get_notification_template('ticket.called', 'sms', 'id') - 'template_id',
          '{"event_type": "ticket.called", "channel": "sms", "language": "id", "version": 0, "is_active": true,
            "subject": null, "body_html": null,
            "body_text": "Nomor {{ ticket_number }}: giliran Anda. Silakan menuju {{ counter_name }} di {{ branch_name }}."}'::jsonb,
          'no version yet: the shipped default (version 0)');
select is(api.get_notification_template('ticket.called', 'email', 'fr') ->> 'language', 'en',
          'a language without a shipped default falls back to English');
select is(tests.error_of($$ select api.get_notification_template('ticket.served', 'email', 'en') $$), 'PT400 INVALID_TEMPLATE',
          'unknown event');
select is(tests.error_of($$ select api.create_notification_template('ticket.called', 'fax', 'en', 'x') $$),
          'PT400 INVALID_TEMPLATE', 'unknown channel');
select is(tests.error_of($$ select api.create_notification_template('ticket.called', 'sms', 'EN', 'x') $$),
          'PT400 INVALID_TEMPLATE', 'language must be two lower-case letters');
select is(tests.error_of($$ select api.create_notification_template('ticket.called', 'email', 'en', 'body') $$),
          'PT400 INVALID_TEMPLATE', 'e-mail needs a subject');
select is(tests.error_of($$ select api.create_notification_template('ticket.called', 'sms', 'en', '') $$),
          'PT400 INVALID_TEMPLATE', 'an empty body');
select set_config('fx.v1', api.create_notification_template('ticket.called', 'sms', 'en', 'v1 {{ ticket_number }}') ->> 'template_id', true);
select set_config('fx.v2', api.create_notification_template('ticket.called', 'sms', 'en', 'v2 {{ ticket_number }}') ->> 'template_id', true);
select is((select array_agg(version order by version) from qms.notification_templates), '{1,2}', 'versions count up per slot');
select is(api.get_notification_template('ticket.called', 'sms', 'en') ->> 'version', '0', 'new versions start inactive');
select is(api.activate_notification_template(tests.fx('v1')) ->> 'is_active', 'true', 'activate version 1');
select is(api.get_notification_template('ticket.called', 'sms', 'en') ->> 'body_text', 'v1 {{ ticket_number }}', 'it is used');
select api.activate_notification_template(tests.fx('v2'));
select is((select array_agg(version order by version) from qms.notification_templates where is_active), '{2}',
          'activating version 2 deactivates version 1');
select is(api.activate_notification_template(tests.fx('v2')) ->> 'version', '2', 'activation is idempotent');
select is(tests.error_of($$ select api.activate_notification_template(gen_random_uuid()) $$), 'PT404 TEMPLATE_NOT_FOUND',
          'unknown template');
select is(jsonb_array_length(api.list_notification_templates()), 2, 'the admin lists every version');
select is((select count(*)::int from audit.log where action like 'notification_template.%'), 5,
          'each create (2) and activation (3) is audited');

-- Providers: the secret is stored, never returned.
select is(tests.error_of($$ select api.set_notification_provider('sms', 'smtp') $$), 'PT400 INVALID_NOTIFICATION_PROVIDER',
          'a kind that does not serve the channel');
select is(tests.error_of($$ select api.set_notification_provider('sms', 'http', '{"url": "https://sms.example"}', 'plain-password') $$),
          'PT400 INVALID_NOTIFICATION_PROVIDER', 'credentials in plain text are refused');
select is(api.set_notification_provider('sms', 'http', '{"url": "https://sms.example"}', 'gAAAAABtoken_-='),
          '{"channel": "sms", "kind": "http", "config": {"url": "https://sms.example"}}'::jsonb, 'stored; the answer has no secret');
select is(api.set_notification_provider('sms', 'http', '{"url": "https://sms2.example"}') -> 'config' ->> 'url', 'https://sms2.example',
          'a change without credentials keeps the stored ones');
select tests.reset_role();
select is((select secret from qms.notification_providers), 'gAAAAABtoken_-=', 'the secret was kept');
select pg_temp.as_admin();
select is(tests.error_of($$ select secret from qms.notification_providers $$), '42501 ', 'admins cannot read the secret column');
select api.set_notification_provider('email', 'log');
select is(api.get_notification_settings() -> 'providers',
          '[{"channel": "email", "kind": "log", "config": {}, "secret_set": false},
            {"channel": "sms", "kind": "http", "config": {"url": "https://sms2.example"}, "secret_set": true}]'::jsonb,
          'settings list providers without secrets, only whether one is set');
select is(qms.provider_secret_channels(), '{sms}'::text[], 'the helper names the channels with credentials, nothing more');

-- Another tenant sees none of it.
select pg_temp.as_admin_b();
select is(api.list_notification_templates(), '[]'::jsonb, 'another tenant''s admin sees no template');
select tests.reset_role();

select * from finish();
rollback;
