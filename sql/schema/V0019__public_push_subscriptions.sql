-- Web Push from the customer's status page (docs/adr/0017-public-push-subscriptions.md).
-- A customer who joined without a phone or an e-mail has no qms.ticket_contacts row, so the language of the
-- page that subscribed goes with the subscription (the push delivery is rendered in it). updated_at: when
-- the browser last confirmed it (a repeated subscribe with the same endpoint refreshes the keys).
-- The bounds match the api's validation (qms.public_push_subscribe): they keep what an anonymous caller can
-- store small.
alter table qms.push_subscriptions
    add column language text not null default 'en' check (language ~ '^[a-z]{2}$'),
    add column updated_at timestamptz not null default now(),
    add constraint push_subscriptions_bounds
        check (length(endpoint) <= 1024 and length(p256dh) <= 100 and length(auth) <= 40);
