-- Web Push from the customer's status page (docs/adr/0017-public-push-subscriptions.md). No account:
-- qms_anon may call these with the ticket's id and secret (the status page's link), like get_public_ticket.
--
-- api.get_public_push_config(ticket_id, secret) -> {available, application_server_key}: whether the page
--   may offer "notify me on this device" (the tenant offers Web Push and the ticket is active) and the
--   tenant's VAPID public key for PushManager.subscribe. Errors: PT404 TICKET_NOT_FOUND. Stable, no locks.
-- api.subscribe_public_push(ticket_id, secret, subscription, language) -> {subscribed, subscriptions}:
--   registers the browser's PushSubscription ({endpoint, keys: {p256dh, auth}}). Errors:
--   PT400 INVALID_PUSH_SUBSCRIPTION, PT404 TICKET_NOT_FOUND, PT409 TICKET_FINISHED, PT409 PUSH_UNAVAILABLE,
--   PT409 TOO_MANY_PUSH_SUBSCRIPTIONS (5 devices per ticket). Idempotent on the endpoint. Locking: an
--   advisory lock per ticket, none on the ticket row.
-- api.unsubscribe_public_push(ticket_id, secret, endpoint) -> {removed}: removes that subscription.
--   Errors: PT404 TICKET_NOT_FOUND. Idempotent.
create or replace function api.get_public_push_config(ticket_id uuid, secret text) returns jsonb
    language sql stable
    security invoker
as $$
    select qms.public_push_config(get_public_push_config.ticket_id, get_public_push_config.secret)
$$;
comment on function api.get_public_push_config(uuid, text) is
    'Whether the status page may offer Web Push, and the VAPID public key. PT404 TICKET_NOT_FOUND.';

create or replace function api.subscribe_public_push(ticket_id uuid, secret text, subscription jsonb,
                                                     language text default null)
    returns jsonb
    language sql
    security invoker
as $$
    select qms.public_push_subscribe(subscribe_public_push.ticket_id, subscribe_public_push.secret,
                                     subscribe_public_push.subscription, subscribe_public_push.language)
$$;
comment on function api.subscribe_public_push(uuid, text, jsonb, text) is
    'Register this browser for Web Push about the ticket (idempotent on the endpoint). PT400 '
    'INVALID_PUSH_SUBSCRIPTION, PT404 TICKET_NOT_FOUND, PT409 TICKET_FINISHED/PUSH_UNAVAILABLE/'
    'TOO_MANY_PUSH_SUBSCRIPTIONS.';

create or replace function api.unsubscribe_public_push(ticket_id uuid, secret text, endpoint text) returns jsonb
    language sql
    security invoker
as $$
    select qms.public_push_unsubscribe(unsubscribe_public_push.ticket_id, unsubscribe_public_push.secret,
                                       unsubscribe_public_push.endpoint)
$$;
comment on function api.unsubscribe_public_push(uuid, text, text) is
    'Stop Web Push about the ticket on this browser. PT404 TICKET_NOT_FOUND.';
