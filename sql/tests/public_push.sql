-- Web Push from the status page: api.get_public_push_config, api.subscribe_public_push,
-- api.unsubscribe_public_push (qms_anon, through the ticket's secret): every error (SQLSTATE and reason
-- key), idempotency on the endpoint, the per-ticket bound, the tenant's switch, the webpush provider's key
-- check, deliveries to a push-only ticket in the page's language, and retention.
begin;
set search_path = tests, public;
select plan(44);
\ir _engine_fixture.sql
select tests.keep_contacts(pg_temp.fx('ta'));
create temp table tk (k text primary key, v jsonb not null);
grant all on tk to public;
create function pg_temp.tk(p_k text) returns jsonb language sql stable as $$ select v from pg_temp.tk where k = p_k $$;
create function pg_temp.id(p_k text) returns uuid language sql stable as $$ select (pg_temp.tk(p_k) ->> 'ticket_id')::uuid $$;
create function pg_temp.secret(p_k text) returns text language sql stable as $$
    select split_part(split_part(pg_temp.tk(p_k) ->> 'status_url', '#t=', 2), '.', 2) $$;
create function pg_temp.b64u(p bytea) returns text language sql immutable as $$
    select rtrim(translate(replace(encode(p, 'base64'), E'\n', ''), '+/', '-_'), '=') $$;
-- A well-formed subscription: p256dh a 65-byte uncompressed point (0x04 ...), auth 16 bytes.
create function pg_temp.sub(p_endpoint text, p_p256dh text default null, p_auth text default null) returns jsonb
    language sql immutable as $$
    select jsonb_build_object('endpoint', p_endpoint, 'keys', jsonb_build_object(
        'p256dh', coalesce(p_p256dh, pg_temp.b64u('\x04'::bytea || sha256('x') || sha256('y'))),
        'auth', coalesce(p_auth, pg_temp.b64u(substr(sha256('auth'), 1, 16))))) $$;
create function pg_temp.flush() returns void language plpgsql as $$
begin
    set constraints qms.ticket_events_notify immediate;
    set constraints qms.ticket_events_notify deferred;
end $$;
create function pg_temp.as_anon() returns void language sql as $$
    select tests.authenticate_as('qms_anon', '{"role": "qms_anon"}') $$;
-- Subscribe as the anonymous customer of ticket k; the error or 'ok'.
create function pg_temp.try_sub(p_k text, p_sub jsonb, p_language text default null) returns text
    language plpgsql as $$
declare v text;
begin
    perform pg_temp.as_anon();
    v := tests.error_of(format('select api.subscribe_public_push(%L, %L, %L, %L)', pg_temp.id(p_k),
                               pg_temp.secret(p_k), p_sub, p_language));
    perform tests.reset_role();
    return v;
end $$;

select pg_temp.as_device();
insert into tk values ('t1', api.create_ticket(pg_temp.fx('sa'), 'kiosk')),
    ('t2', api.create_ticket(pg_temp.fx('sa'), 'kiosk', contact => '{"email": "ana@example.com", "consent": true}')),
    ('t3', api.create_ticket(pg_temp.fx('sb'), 'kiosk'));
select pg_temp.flush();
select tests.reset_role();

-- Before the tenant offers push -----------------------------------------------------------------------
select pg_temp.as_anon();
select is(api.get_public_push_config(pg_temp.id('t1'), pg_temp.secret('t1')),
          '{"available": false, "application_server_key": null}'::jsonb, 'a tenant without push: not available');
select is(tests.error_of(format('select api.get_public_push_config(%L, %L)', pg_temp.id('t1'), pg_temp.secret('t2'))),
          'PT404 TICKET_NOT_FOUND', 'config with another ticket''s secret: TICKET_NOT_FOUND');
select tests.reset_role();
select is(pg_temp.try_sub('t1', pg_temp.sub('https://push.example.net/s/1')), 'PT409 PUSH_UNAVAILABLE',
          'subscribing while the tenant offers no push: PUSH_UNAVAILABLE');

-- The webpush provider needs its public key -------------------------------------------------------------
select pg_temp.as_admin();
select api.set_notification_settings(enabled => true, channels => '{email,push}');
select is(tests.error_of($$ select api.set_notification_provider('push', 'webpush', '{"subject": "mailto:ops@example.com"}') $$),
          'PT400 INVALID_NOTIFICATION_PROVIDER', 'a webpush provider without vapid_public_key');
select is(tests.error_of(format('select api.set_notification_provider(%L, %L, %L)', 'push', 'webpush',
              jsonb_build_object('vapid_public_key', pg_temp.b64u(sha256('short'))))),
          'PT400 INVALID_NOTIFICATION_PROVIDER', 'a vapid_public_key that is not 65 bytes');
select is(tests.error_of(format('select api.set_notification_provider(%L, %L, %L)', 'push', 'webpush',
              jsonb_build_object('vapid_public_key', pg_temp.b64u('\x04'::bytea || sha256('k') || sha256('v')),
                                 'subject', 'ops@example.com'))),
          'PT400 INVALID_NOTIFICATION_PROVIDER', 'a subject that is neither mailto: nor https:');
select set_config('fx.key', pg_temp.b64u('\x04'::bytea || sha256('k') || sha256('v')), true);
select is(api.set_notification_provider('push', 'webpush',
              jsonb_build_object('vapid_public_key', current_setting('fx.key'), 'subject', 'mailto:ops@example.com'))
              ->> 'kind', 'webpush', 'an admin sets the webpush provider with its public key');
select tests.reset_role();

select pg_temp.as_anon();
select is(api.get_public_push_config(pg_temp.id('t1'), pg_temp.secret('t1')),
          jsonb_build_object('available', true, 'application_server_key', current_setting('fx.key')),
          'now available, with the tenant''s VAPID public key');
select is(tests.error_of(format('select api.subscribe_public_push(%L, %L, %L)', pg_temp.id('t1'), pg_temp.secret('t2'),
                                pg_temp.sub('https://push.example.net/s/1'))),
          'PT404 TICKET_NOT_FOUND', 'subscribe with another ticket''s secret: TICKET_NOT_FOUND');
select is(tests.error_of(format('select api.unsubscribe_public_push(%L, %L, %L)', gen_random_uuid(), pg_temp.secret('t1'),
                                'https://push.example.net/s/1')),
          'PT404 TICKET_NOT_FOUND', 'unsubscribe of an unknown ticket: TICKET_NOT_FOUND');
select is(tests.error_of($$ select count(*) from qms.push_subscriptions $$), '42501 ',
          'the anonymous role cannot read subscriptions');
select tests.reset_role();

-- Shape --------------------------------------------------------------------------------------------------
select is(pg_temp.try_sub('t1', '["https://push.example.net/s/1"]'), 'PT400 INVALID_PUSH_SUBSCRIPTION', 'not an object');
select is(pg_temp.try_sub('t1', '{"keys": {}}'), 'PT400 INVALID_PUSH_SUBSCRIPTION', 'no endpoint');
select is(pg_temp.try_sub('t1', pg_temp.sub('http://push.example.net/s/1')), 'PT400 INVALID_PUSH_SUBSCRIPTION',
          'an http endpoint');
select is(pg_temp.try_sub('t1', pg_temp.sub('https://127.0.0.1:8443/s/1')), 'PT400 INVALID_PUSH_SUBSCRIPTION',
          'an IP literal (the sender would post to it)');
select is(pg_temp.try_sub('t1', pg_temp.sub('https://localhost/s/1')), 'PT400 INVALID_PUSH_SUBSCRIPTION',
          'localhost');
select is(pg_temp.try_sub('t1', pg_temp.sub('https://push.example.net/' || repeat('a', 1024))),
          'PT400 INVALID_PUSH_SUBSCRIPTION', 'an endpoint over 1024 characters');
select is(pg_temp.try_sub('t1', pg_temp.sub('https://push.example.net/s 1')), 'PT400 INVALID_PUSH_SUBSCRIPTION',
          'an endpoint with a space');
select is(pg_temp.try_sub('t1', pg_temp.sub('https://push.example.net/s/1', pg_temp.b64u(sha256('x')))),
          'PT400 INVALID_PUSH_SUBSCRIPTION', 'p256dh of 32 bytes');
select is(pg_temp.try_sub('t1', pg_temp.sub('https://push.example.net/s/1',
              pg_temp.b64u('\x05'::bytea || sha256('x') || sha256('y')))),
          'PT400 INVALID_PUSH_SUBSCRIPTION', 'p256dh that is not an uncompressed point');
select is(pg_temp.try_sub('t1', pg_temp.sub('https://push.example.net/s/1', null, 'not base64!')),
          'PT400 INVALID_PUSH_SUBSCRIPTION', 'auth that is not base64url');
select is(pg_temp.try_sub('t1', pg_temp.sub('https://push.example.net/s/1', null, pg_temp.b64u(sha256('a')))),
          'PT400 INVALID_PUSH_SUBSCRIPTION', 'auth of 32 bytes');
select is(pg_temp.try_sub('t1', pg_temp.sub('https://push.example.net/s/1'), 'EN'), 'PT400 INVALID_PUSH_SUBSCRIPTION',
          'a language that is not two lower-case letters');

-- Subscribe, idempotent on the endpoint, bounded per ticket -------------------------------------------------
select pg_temp.as_anon();
select is(api.subscribe_public_push(pg_temp.id('t1'), pg_temp.secret('t1'), pg_temp.sub('https://fcm.googleapis.com/fcm/send/a:1'), 'id'),
          '{"subscribed": true, "subscriptions": 1}'::jsonb, 'the customer subscribes this browser');
select is(api.subscribe_public_push(pg_temp.id('t1'), pg_temp.secret('t1'),
              pg_temp.sub('https://fcm.googleapis.com/fcm/send/a:1', null, pg_temp.b64u(substr(sha256('new'), 1, 16))), 'id'),
          '{"subscribed": true, "subscriptions": 1}'::jsonb, 'the same endpoint again: still one subscription');
select tests.reset_role();
select is((select array[language, auth] from qms.push_subscriptions where ticket_id = pg_temp.id('t1')),
          array['id', pg_temp.b64u(substr(sha256('new'), 1, 16))], 'stored with the page''s language, keys refreshed');
select is((select tenant_id from qms.push_subscriptions where ticket_id = pg_temp.id('t1')), pg_temp.fx('ta'),
          'under the ticket''s tenant');
select is((select count(*)::int from (select pg_temp.try_sub('t1', pg_temp.sub('https://web.push.apple.com/d' || n)) r
                                       from generate_series(2, 5) n) x where r = 'no error'), 4,
          'up to five devices per ticket');
select is(pg_temp.try_sub('t1', pg_temp.sub('https://web.push.apple.com/d6')), 'PT409 TOO_MANY_PUSH_SUBSCRIPTIONS',
          'a sixth device: TOO_MANY_PUSH_SUBSCRIPTIONS');
select is(pg_temp.try_sub('t1', pg_temp.sub('https://web.push.apple.com/d5')), 'no error',
          'an existing device may renew at the bound');

-- Unsubscribe -------------------------------------------------------------------------------------------------
select pg_temp.as_anon();
select is(api.unsubscribe_public_push(pg_temp.id('t1'), pg_temp.secret('t1'), 'https://web.push.apple.com/d5'),
          '{"removed": true}'::jsonb, 'the customer turns one device off');
select is(api.unsubscribe_public_push(pg_temp.id('t1'), pg_temp.secret('t1'), 'https://web.push.apple.com/d5'),
          '{"removed": false}'::jsonb, 'idempotent');
select tests.reset_role();
select is((select count(*)::int from qms.push_subscriptions where ticket_id = pg_temp.id('t1')), 4, 'four devices left');

-- Deliveries: a push-only ticket, and an e-mail opt-out with a push subscription ----------------------------
select is(pg_temp.try_sub('t2', pg_temp.sub('https://fcm.googleapis.com/fcm/send/t2'), 'en'), 'no error',
          't2 (with an e-mail) subscribes too');
update qms.ticket_contacts set notify = false where ticket_id = pg_temp.id('t2');
select pg_temp.as_agent();
select api.call_next(pg_temp.fx('c1'));  -- t1
select pg_temp.flush();
select api.ticket_action(pg_temp.id('t1'), 'start', counter_id => pg_temp.fx('c1'));
select api.ticket_action(pg_temp.id('t1'), 'complete', counter_id => pg_temp.fx('c1'));
select api.call_next(pg_temp.fx('c1'));  -- t2
select pg_temp.flush();
select tests.reset_role();
select is((select array_agg(event_type || '/' || channel || '/' || language) from qms.notification_deliveries
           where ticket_id = pg_temp.id('t1')), '{ticket.called/push/id}',
          'a ticket without contact gets its call by push, in the page''s language');
select is((select array_agg(event_type || '/' || channel || '/' || language) from qms.notification_deliveries
           where ticket_id = pg_temp.id('t2')), '{ticket.called/push/en}',
          'an e-mail opt-out with a push subscription: push only');
select is((select count(*)::int from qms.notification_skips where ticket_id in (pg_temp.id('t1'), pg_temp.id('t2'))
           and event_type = 'ticket.called'), 0, 'no skip recorded for their calls');

-- A finished ticket --------------------------------------------------------------------------------------------
select is(pg_temp.try_sub('t1', pg_temp.sub('https://fcm.googleapis.com/fcm/send/late')), 'PT409 TICKET_FINISHED',
          'a done ticket: TICKET_FINISHED');
select pg_temp.as_anon();
select is(api.get_public_push_config(pg_temp.id('t1'), pg_temp.secret('t1')) -> 'available', 'false'::jsonb,
          'a done ticket''s page offers no push');
select tests.reset_role();

-- Push off again --------------------------------------------------------------------------------------------------
select pg_temp.as_admin();
select api.set_notification_settings(channels => '{email}');
select tests.reset_role();
select is(pg_temp.try_sub('t3', pg_temp.sub('https://fcm.googleapis.com/fcm/send/t3')), 'PT409 PUSH_UNAVAILABLE',
          'channel push off: PUSH_UNAVAILABLE');
select pg_temp.as_anon();
select is(api.get_public_push_config(pg_temp.id('t3'), pg_temp.secret('t3')) -> 'available', 'false'::jsonb,
          'and the page offers none');
select tests.reset_role();

-- Retention: an ended ticket's subscriptions go; an active one's stay ------------------------------------------
update qms.notification_deliveries set status = 'sent' where ticket_id = pg_temp.id('t1');
select tests.authenticate_as('qms_worker', '{"role": "qms_worker"}');
select ok(worker.purge_notification_data() >= 4, 'the retention job runs');
select tests.reset_role();
select is((select count(*)::int from qms.push_subscriptions where ticket_id = pg_temp.id('t1')), 0,
          'the done ticket''s subscriptions are gone');
select is((select count(*)::int from qms.push_subscriptions where ticket_id = pg_temp.id('t2')), 1,
          'the called ticket''s subscription stays');

select * from finish();
rollback;
