-- Web Push from the customer's status page (docs/adr/0017-public-push-subscriptions.md). Like the page's
-- other functions (public_ticket.sql) they find the ticket by id and secret through qms.public_ticket_find,
-- across tenants, as the owner (security definer), and reveal nothing but what the page needs.
--
-- qms.push_application_server_key(tenant_id): the tenant's VAPID public key (base64url) when it offers Web
--   Push: notifications on, channel push on, and a webpush provider whose config carries vapid_public_key
--   (the gateway's provider route derives it from the encrypted private key). Null otherwise. Owner only.
-- qms.base64url_decode(text): the bytes of a base64url string (padding optional), null when it is not one.
-- qms.public_push_config(ticket_id, secret) -> {available, application_server_key}: available when the
--   tenant offers push and the ticket is still active. PT404 TICKET_NOT_FOUND. Stable, no locks.
-- qms.public_push_subscribe(ticket_id, secret, subscription, language) -> {subscribed, subscriptions}:
--   stores the browser's PushSubscription ({endpoint, keys: {p256dh, auth}}) for the ticket, with the
--   page's language. Validation before any read: endpoint an https URL of a DNS host name (no IP literal,
--   no "localhost": the sender posts to it) of at most 1024 characters; p256dh base64url of a 65-byte
--   uncompressed P-256 point; auth base64url of 16 bytes; language two lower-case letters (default en).
--   Errors: PT400 INVALID_PUSH_SUBSCRIPTION, PT404 TICKET_NOT_FOUND, PT409 TICKET_FINISHED (done, no_show,
--   cancelled), PT409 PUSH_UNAVAILABLE (the tenant does not offer push), PT409 TOO_MANY_PUSH_SUBSCRIPTIONS
--   (a sixth device). Idempotent on the endpoint: the same endpoint again refreshes keys and language.
--   Locking: a transaction advisory lock per ticket (the bound holds under concurrent subscribes); no lock
--   on the ticket row, so call_next's skip locked never skips a ticket for it.
-- qms.public_push_unsubscribe(ticket_id, secret, endpoint) -> {removed}: removes that device's
--   subscription. PT404 TICKET_NOT_FOUND. Idempotent (removed = false the second time). Any ticket status.
create or replace function qms.push_application_server_key(p_tenant_id uuid) returns text
    language sql stable
    set search_path = ''
as $$
    select p.config ->> 'vapid_public_key'
    from qms.notification_settings s
    join qms.notification_providers p on p.tenant_id = s.tenant_id and p.channel = 'push' and p.kind = 'webpush'
    where s.tenant_id = p_tenant_id and s.enabled and 'push' = any (s.channels)
$$;
comment on function qms.push_application_server_key(uuid) is
    'The tenant''s VAPID public key when it offers Web Push, else null (owner only).';
revoke all on function qms.push_application_server_key(uuid) from public;

create or replace function qms.base64url_decode(p_text text) returns bytea
    language plpgsql immutable parallel safe
    set search_path = ''
as $$
declare
    v_body text := pg_catalog.rtrim(p_text, '=');
begin
    if p_text is null or p_text !~ '^[A-Za-z0-9_-]+={0,2}$' then
        return null;
    end if;
    return pg_catalog.decode(pg_catalog.rpad(pg_catalog.translate(v_body, '-_', '+/'),
                                             (pg_catalog.length(v_body) + 3) / 4 * 4, '='), 'base64');
exception when invalid_parameter_value then
    return null;  -- a length that no byte string has (4n + 1 characters)
end
$$;
comment on function qms.base64url_decode(text) is
    'Bytes of a base64url string (padding optional); null when the text is not base64url.';

create or replace function qms.public_push_config(p_ticket_id uuid, p_secret text) returns jsonb
    language plpgsql stable
    security definer
    set search_path = ''
as $$
declare
    v_ticket qms.tickets := qms.public_ticket_find(p_ticket_id, p_secret, false);
    v_key text := qms.push_application_server_key(v_ticket.tenant_id);
begin
    return jsonb_build_object(
        'available', v_key is not null and v_ticket.status not in ('done', 'no_show', 'cancelled'),
        'application_server_key', v_key);
end
$$;
comment on function qms.public_push_config(uuid, text) is
    'Whether the ticket''s page may offer Web Push, and the tenant''s VAPID public key. PT404 TICKET_NOT_FOUND.';
revoke all on function qms.public_push_config(uuid, text) from public;
grant execute on function qms.public_push_config(uuid, text) to qms_anon;

create or replace function qms.public_push_subscribe(p_ticket_id uuid, p_secret text, p_subscription jsonb,
                                                     p_language text)
    returns jsonb
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_max constant integer := 5;
    v_endpoint text := p_subscription ->> 'endpoint';
    v_p256dh text := p_subscription #>> '{keys,p256dh}';
    v_auth text := p_subscription #>> '{keys,auth}';
    v_key bytea;
    v_language text := coalesce(p_language, 'en');
    v_ticket qms.tickets;
    v_count integer;
begin
    if pg_catalog.jsonb_typeof(p_subscription) is distinct from 'object' or v_endpoint is null
       or pg_catalog.length(v_endpoint) > 1024
       or v_endpoint !~* '^https://([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9](:[0-9]{1,5})?/[!-~]*$' then
        perform qms.fail(400, 'INVALID_PUSH_SUBSCRIPTION', 'the endpoint is not an https URL of a push service',
                         'Pass the browser''s PushSubscription.toJSON(): {endpoint, keys: {p256dh, auth}}.');
    end if;
    v_key := qms.base64url_decode(case when pg_catalog.length(v_p256dh) <= 100 then v_p256dh end);
    if v_key is null or pg_catalog.length(v_key) <> 65 or pg_catalog.get_byte(v_key, 0) <> 4
       or pg_catalog.length(qms.base64url_decode(case when pg_catalog.length(v_auth) <= 40 then v_auth end))
          is distinct from 16 then
        perform qms.fail(400, 'INVALID_PUSH_SUBSCRIPTION',
                         'keys.p256dh must be a base64url P-256 public key (65 bytes) and keys.auth 16 base64url bytes',
                         'Pass the browser''s PushSubscription.toJSON(): {endpoint, keys: {p256dh, auth}}.');
    end if;
    if v_language !~ '^[a-z]{2}$' then
        perform qms.fail(400, 'INVALID_PUSH_SUBSCRIPTION', 'language must be two lower-case letters',
                         'Pass the page''s language, e.g. "id" or "en".');
    end if;
    v_ticket := qms.public_ticket_find(p_ticket_id, p_secret, false);
    if v_ticket.status in ('done', 'no_show', 'cancelled') then
        perform qms.fail(409, 'TICKET_FINISHED', format('ticket is %s: there is nothing left to notify', v_ticket.status),
                         'Take a new ticket.');
    end if;
    if qms.push_application_server_key(v_ticket.tenant_id) is null then
        perform qms.fail(409, 'PUSH_UNAVAILABLE', 'this queue does not send push notifications',
                         'Follow the ticket on this page.');
    end if;
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('qms.push_subscriptions:' || p_ticket_id::text, 0));
    select count(*) into v_count from qms.push_subscriptions p
    where p.tenant_id = v_ticket.tenant_id and p.ticket_id = v_ticket.ticket_id and p.endpoint <> v_endpoint;
    if v_count >= v_max then
        perform qms.fail(409, 'TOO_MANY_PUSH_SUBSCRIPTIONS',
                         format('the ticket already notifies %s devices', v_max),
                         'Turn notifications off on another device first.');
    end if;
    insert into qms.push_subscriptions as p (tenant_id, ticket_id, endpoint, p256dh, auth, language)
    values (v_ticket.tenant_id, v_ticket.ticket_id, v_endpoint, v_p256dh, v_auth, v_language)
    on conflict (tenant_id, ticket_id, endpoint) do update
       set p256dh = excluded.p256dh, auth = excluded.auth, language = excluded.language, updated_at = now();
    return jsonb_build_object('subscribed', true, 'subscriptions', v_count + 1);
end
$$;
comment on function qms.public_push_subscribe(uuid, text, jsonb, text) is
    'Store a browser''s Web Push subscription for the ticket whose secret matches (idempotent on the endpoint). '
    'PT400 INVALID_PUSH_SUBSCRIPTION, PT404 TICKET_NOT_FOUND, PT409 TICKET_FINISHED/PUSH_UNAVAILABLE/'
    'TOO_MANY_PUSH_SUBSCRIPTIONS.';
revoke all on function qms.public_push_subscribe(uuid, text, jsonb, text) from public;
grant execute on function qms.public_push_subscribe(uuid, text, jsonb, text) to qms_anon;

create or replace function qms.public_push_unsubscribe(p_ticket_id uuid, p_secret text, p_endpoint text)
    returns jsonb
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_ticket qms.tickets := qms.public_ticket_find(p_ticket_id, p_secret, false);
begin
    delete from qms.push_subscriptions p
    where p.tenant_id = v_ticket.tenant_id and p.ticket_id = v_ticket.ticket_id and p.endpoint = p_endpoint;
    return jsonb_build_object('removed', found);
end
$$;
comment on function qms.public_push_unsubscribe(uuid, text, text) is
    'Remove one device''s Web Push subscription of the ticket whose secret matches. PT404 TICKET_NOT_FOUND.';
revoke all on function qms.public_push_unsubscribe(uuid, text, text) from public;
grant execute on function qms.public_push_unsubscribe(uuid, text, text) to qms_anon;
