-- Notification enqueue: the deferred trigger on qms.ticket_events makes deliveries in the writing
-- transaction, or records why not (tenant off, event off, no contact, opted out, channel off, suppressed);
-- "N ahead of you" once per ticket; settings api errors and RLS.
-- Deferred triggers fire at commit; a test transaction never commits, so pg_temp.flush() fires them.
begin;
set search_path = tests, public;
select plan(45);
\ir _engine_fixture.sql
select tests.keep_contacts(pg_temp.fx('ta'));
create function pg_temp.flush() returns void language plpgsql as $$
begin
    set constraints qms.ticket_events_notify immediate;
    set constraints qms.ticket_events_notify deferred;
end $$;
create function pg_temp.issue(p_contact jsonb, p_service text default 'sa') returns uuid language plpgsql as $$
declare v uuid;
begin
    perform pg_temp.as_agent();
    v := (api.create_ticket(pg_temp.fx(p_service), contact => p_contact) ->> 'ticket_id')::uuid;
    perform pg_temp.flush();
    perform tests.reset_role();
    return v;
end $$;
create function pg_temp.skips(p_ticket uuid) returns text[] language sql as $$
    select array_agg(reason order by skip_id) from qms.notification_skips where ticket_id = p_ticket $$;
create function pg_temp.deliveries(p_ticket uuid) returns text[] language sql as $$
    select array_agg(event_type || '/' || channel || '/' || status || '/' || language order by created_at, channel)
    from qms.notification_deliveries where ticket_id = p_ticket $$;

-- Off by default ----------------------------------------------------------------------------------
select is(pg_temp.skips(pg_temp.issue('{"email": "ana@example.com", "consent": true}', 'sb')), '{NOTIFICATIONS_OFF}',
          'a tenant that never turned notifications on: no delivery, reason NOTIFICATIONS_OFF');
select is((select count(*)::int from qms.notification_deliveries), 0, 'no delivery at all');

-- Settings api ---------------------------------------------------------------------------------------
select pg_temp.as_supervisor();
select is(api.get_notification_settings() -> 'enabled', 'false'::jsonb, 'supervisors read the settings (off)');
select is(tests.error_of($$ select api.set_notification_settings(enabled => true) $$), '42501 ',
          'a supervisor cannot change them (no grant)');
select pg_temp.as_admin();
select is(tests.error_of($$ select api.set_notification_settings(channels => '{fax}') $$),
          'PT400 INVALID_NOTIFICATION_SETTINGS', 'unknown channel');
select is(tests.error_of($$ select api.set_notification_settings(events => '{ticket.served}') $$),
          'PT400 INVALID_NOTIFICATION_SETTINGS', 'unknown event');
select is(tests.error_of($$ select api.set_notification_settings(max_attempts => 0) $$),
          'PT400 INVALID_NOTIFICATION_SETTINGS', 'max_attempts out of range');
select is(api.set_notification_settings(enabled => true, channels => '{email,sms}') - 'providers',
          '{"enabled": true, "channels": ["email", "sms"], "max_attempts": 5, "channel_events": {},
            "events": ["ticket.created", "ticket.called", "ticket.recalled", "ticket.ahead"]}'::jsonb,
          'an admin turns e-mail and SMS on; the default events stay');
select is((select count(*)::int from audit.log where action = 'notification_settings.set'), 1, 'the change is audited');
select tests.reset_role();

-- Deliveries and reasons -----------------------------------------------------------------------------
select set_config('fx.t1', pg_temp.issue('{"email": "ana@example.com", "phone": "+62 812 3456 789", "language": "id", "consent": true}')::text, true);
select is(pg_temp.deliveries(tests.fx('t1')), '{ticket.created/email/queued/id,ticket.created/sms/queued/id}',
          'a ticket with e-mail and phone: one queued delivery per channel, in the customer''s language');
select is((select vars - 'status_url' from qms.notification_deliveries where ticket_id = tests.fx('t1') and channel = 'email'),
          '{"position": 1, "eta_minutes": 0}'::jsonb, 'the issue-time position and estimate go with it');
select is(pg_temp.skips(pg_temp.issue(null)), '{NO_CONTACT}', 'no contact: reason NO_CONTACT');
select set_config('fx.t3', pg_temp.issue('{"phone": "+62 811 000 111", "consent": true}', 'sb')::text, true);
select is(pg_temp.deliveries(tests.fx('t3')), '{ticket.created/sms/queued/en}', 'phone only: SMS');

select pg_temp.as_admin();
select api.set_notification_settings(channels => '{email}');
select tests.reset_role();
select is(pg_temp.skips(pg_temp.issue('{"phone": "+62 811 000 222", "consent": true}', 'sb')), '{CHANNEL_OFF}',
          'phone only while SMS is off: reason CHANNEL_OFF');

-- Per channel and event: channel_events narrows what a channel carries (here SMS: only the call).
select pg_temp.as_admin();
select is(tests.error_of($$ select api.set_notification_settings(channel_events => '["sms"]') $$),
          'PT400 INVALID_NOTIFICATION_SETTINGS', 'channel_events must be an object');
select is(tests.error_of($$ select api.set_notification_settings(channel_events => '{"fax": ["ticket.called"]}') $$),
          'PT400 INVALID_NOTIFICATION_SETTINGS', 'channel_events: unknown channel');
select is(tests.error_of($$ select api.set_notification_settings(channel_events => '{"sms": ["ticket.served"]}') $$),
          'PT400 INVALID_NOTIFICATION_SETTINGS', 'channel_events: unknown event');
select is(api.set_notification_settings(channels => '{email,sms}', channel_events => '{"sms": ["ticket.called"]}')
          -> 'channel_events', '{"sms": ["ticket.called"]}'::jsonb, 'an admin lets SMS carry only the call');
select tests.reset_role();
select set_config('fx.t6', pg_temp.issue('{"email": "t6@example.com", "phone": "+62 811 000 666", "consent": true}', 'sb')::text, true);
select is(pg_temp.deliveries(tests.fx('t6')), '{ticket.created/email/queued/en}',
          'issue: e-mail only, SMS does not carry ticket.created');
select is(pg_temp.skips(pg_temp.issue('{"phone": "+62 811 000 777", "consent": true}', 'sb')), '{CHANNEL_OFF}',
          'phone only, and SMS is off for this event: reason CHANNEL_OFF');
select is(qms.enqueue_notifications(pg_temp.fx('ta'), tests.fx('t6'), 999999, 'ticket.called', '{}', false), 2,
          'the call goes out on both channels');
select pg_temp.as_admin();
select api.set_notification_settings(channels => '{email}', channel_events => '{}');
select tests.reset_role();

-- Unsubscribe link: the contact is opted out, later events are skipped.
select is(tests.error_of($$ select api.unsubscribe_notifications(gen_random_uuid()) $$),
          'PT404 UNSUBSCRIBE_TOKEN_NOT_FOUND', 'an unknown unsubscribe token');
select set_config('fx.tok', (select unsubscribe_token from qms.ticket_contacts where ticket_id = tests.fx('t1'))::text, true);
select tests.authenticate_as('qms_anon', '{"role": "qms_anon"}');
select is(api.unsubscribe_notifications(tests.fx('tok')), '{"unsubscribed": true}'::jsonb,
          'an anonymous customer unsubscribes with the link''s token');
select is(api.unsubscribe_notifications(tests.fx('tok')), '{"unsubscribed": true}'::jsonb, 'idempotent');
select tests.reset_role();

-- "N ahead of you" (notify_ahead = 1 for Teller): the ticket that comes to have exactly one ticket before it.
select pg_temp.as_admin();
select api.set_policy(pg_temp.fx('bx'), pg_temp.fx('sa'), '{"notify_ahead": 1}');
select tests.reset_role();
-- Teller queue now: t1 (opted out), the no-contact ticket; add t4 and t5 with e-mail.
select set_config('fx.t4', pg_temp.issue('{"email": "t4@example.com", "consent": true}')::text, true);
select set_config('fx.t5', pg_temp.issue('{"email": "t5@example.com", "consent": true}')::text, true);
select pg_temp.as_agent();
select api.call_next(pg_temp.fx('c1'));  -- calls t1 (opted out); the no-contact ticket is next, t4 has 1 ahead
select pg_temp.flush();
select tests.reset_role();
select is(pg_temp.skips(tests.fx('t1')), '{OPTED_OUT}', 'the opted-out customer''s call: reason OPTED_OUT');
select is(pg_temp.deliveries(tests.fx('t4')), '{ticket.created/email/queued/en,ticket.ahead/email/queued/en}',
          't4 now has one ticket ahead: it gets the "ahead" delivery');
select is((select vars from qms.notification_deliveries where ticket_id = tests.fx('t4') and event_type = 'ticket.ahead'),
          '{"ahead": 1, "position": 2}'::jsonb, 'with its position');
select pg_temp.as_agent();
select api.ticket_action(tests.fx('t5'), 'hold');  -- a queue move: t4 still has one ahead
select pg_temp.flush();
select api.ticket_action(tests.fx('t1'), 'start', counter_id => pg_temp.fx('c1'));
select api.ticket_action(tests.fx('t1'), 'complete', counter_id => pg_temp.fx('c1'));
select set_config('fx.nc', (api.call_next(pg_temp.fx('c1')) -> 'ticket' ->> 'ticket_id'), true);  -- t4 is next now
select pg_temp.flush();
select api.ticket_action(tests.fx('nc'), 'start', counter_id => pg_temp.fx('c1'));
select api.ticket_action(tests.fx('nc'), 'complete', counter_id => pg_temp.fx('c1'));
select api.call_next(pg_temp.fx('c1'));  -- t4 is called at Counter 1
select pg_temp.flush();
select api.ticket_action(tests.fx('t4'), 'recall', counter_id => pg_temp.fx('c1'));
select pg_temp.flush();
select tests.reset_role();
select is((select count(*)::int from qms.notification_deliveries where ticket_id = tests.fx('t4')
           and event_type = 'ticket.ahead'), 1, '"ahead" is sent once per ticket');
select is(pg_temp.deliveries(tests.fx('t4')),
          '{ticket.created/email/queued/en,ticket.ahead/email/queued/en,ticket.called/email/queued/en,ticket.recalled/email/queued/en}',
          'called and recalled make their deliveries');
select is((select vars ->> 'counter_id' from qms.notification_deliveries where ticket_id = tests.fx('t4')
           and event_type = 'ticket.called'), pg_temp.fx('c1')::text, 'the call carries its counter');

-- Event off, suppression ---------------------------------------------------------------------------
select pg_temp.as_admin();
select api.set_notification_settings(events => '{ticket.created}');
select pg_temp.as_agent();
select api.ticket_action(tests.fx('t4'), 'recall', counter_id => pg_temp.fx('c1'));
select pg_temp.flush();
select tests.reset_role();
select is((pg_temp.skips(tests.fx('t4')))[1], 'EVENT_OFF', 'an event the tenant does not notify: reason EVENT_OFF');
select tests.authenticate_as('qms_worker', '{"role": "qms_worker", "sub": "notify"}');
select is(worker.suppress_address(pg_temp.fx('ta'), 'email', ' T5@Example.com', 'STOP'), true,
          'a STOP suppresses the address (normalised)');
select is(worker.suppress_address(pg_temp.fx('ta'), 'email', 't5@example.com', 'STOP'), false, 'idempotent');
select tests.reset_role();
select is((select notify from qms.ticket_contacts where ticket_id = tests.fx('t5')), false,
          'the tenant''s contacts with that address are opted out');
select is(pg_temp.skips(pg_temp.issue('{"email": "t5@example.com", "consent": true}')), '{SUPPRESSED}',
          'a new ticket with a suppressed address: reason SUPPRESSED');

-- Admin reads: masked, tenant-scoped ----------------------------------------------------------------
select pg_temp.as_supervisor();
select is((select r ->> 'recipient' from jsonb_array_elements(api.list_notification_deliveries(ticket_id => tests.fx('t4'))) r
           limit 1), 't*@e******.com', 'staff see the recipient masked');
select is(tests.error_of($$ select api.list_notification_deliveries(status => 'lost') $$),
          'PT400 INVALID_DELIVERY_STATUS', 'unknown status filter');
select is(jsonb_array_length(api.list_notification_skips()) > 0, true, 'staff read the skip reasons');
select is((select count(*)::int from jsonb_array_elements(api.list_notification_deliveries(channel => 'email')) r
           where r ->> 'channel' <> 'email'), 0, 'the channel filter keeps only that channel');
select is(jsonb_array_length(api.list_notification_deliveries(channel => 'email')) > 0, true, 'and finds e-mail deliveries');
select is(api.list_notification_deliveries(from_ts => now() + interval '1 minute'), '[]'::jsonb,
          'the date range filters on created_at');
select is(tests.error_of($$ select api.list_notification_deliveries(channel => 'fax') $$),
          'PT400 INVALID_CHANNEL', 'unknown channel filter');
select is(tests.error_of($$ select api.list_notification_deliveries(from_ts => now(), to_ts => now() - interval '1 day') $$),
          'PT400 INVALID_RANGE', 'a range that ends before it starts');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', pg_temp.fx('tb'), null, 'admin-b'));
select is(api.list_notification_deliveries(), '[]'::jsonb, 'another tenant''s admin sees no delivery');
select is(api.list_notification_skips(), '[]'::jsonb, 'nor any skip');
select tests.reset_role();

select * from finish();
rollback;
