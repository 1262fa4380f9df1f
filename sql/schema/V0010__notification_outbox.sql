-- Notifications as a transactional outbox (docs/adr/0012-notification-outbox.md).
-- A ticket event makes its delivery rows in the writing transaction (a deferred trigger on
-- qms.ticket_events, see sql/functions/qms/notify_enqueue.sql); the sender worker claims them with
-- `for update skip locked` and a lease. Statuses follow GOV.UK Notify; the retry columns follow
-- procrastinate and graphile-worker. The V0001 notification tables were never written by any code and
-- are replaced here by this model.
create schema if not exists worker;
revoke all on schema worker from public;

drop table qms.notification_deliveries;
drop table qms.notification_templates;
drop type qms.delivery_status;

-- queued -> sending -> sent -> delivered | permanent_failure (provider report);
-- sending -> temporary_failure (retry at next_attempt_at) -> sending ...; -> dead after the last try or a
-- permanent error at send time (an admin may re-drive a dead letter back to queued).
create type qms.delivery_status as enum ('queued', 'sending', 'temporary_failure', 'sent', 'delivered',
                                         'permanent_failure', 'dead');

-- Per-tenant switchboard: off by default; which channels and which events notify.
create table qms.notification_settings (
    tenant_id     uuid primary key references qms.tenants (tenant_id),
    enabled       boolean not null default false,
    channels      text[] not null default '{email}'
                  check (channels <@ array['email', 'sms', 'whatsapp', 'push']),
    events        text[] not null default '{ticket.created,ticket.called,ticket.recalled,ticket.ahead}'
                  check (events <@ array['ticket.created', 'ticket.called', 'ticket.recalled', 'ticket.ahead',
                                         'ticket.no_show', 'ticket.cancelled']),
    max_attempts  integer not null default 5 check (max_attempts between 1 and 20),
    updated_at    timestamptz not null default now()
);

-- Templates: per tenant, event, channel and language, versioned; at most one active version each.
-- Tenants without an active version use the shipped defaults (qms.default_notification_template).
create table qms.notification_templates (
    tenant_id    uuid not null references qms.tenants (tenant_id),
    template_id  uuid not null default gen_random_uuid(),
    event_type   text not null check (event_type in ('ticket.created', 'ticket.called', 'ticket.recalled',
                                                     'ticket.ahead', 'ticket.no_show', 'ticket.cancelled')),
    channel      text not null check (channel in ('email', 'sms', 'whatsapp', 'push')),
    language     text not null check (language ~ '^[a-z]{2}$'),
    version      integer not null check (version > 0),
    subject      text check (subject is null or length(subject) <= 500),
    body_text    text not null check (length(body_text) between 1 and 10000),
    body_html    text check (body_html is null or length(body_html) <= 50000),
    is_active    boolean not null default false,
    created_by   text,
    created_at   timestamptz not null default now(),
    primary key (tenant_id, template_id),
    unique (tenant_id, event_type, channel, language, version)
);
create unique index notification_templates_active_key
    on qms.notification_templates (tenant_id, event_type, channel, language) where is_active;

-- Provider per tenant and channel. config holds the non-secret settings; secret is a Fernet token of the
-- credentials (key QMS_SECRET_KEY, encrypted and decrypted in Python only), never returned by an api function.
create table qms.notification_providers (
    tenant_id    uuid not null references qms.tenants (tenant_id),
    channel      text not null check (channel in ('email', 'sms', 'whatsapp', 'push')),
    kind         text not null check (kind in ('smtp', 'http', 'log', 'whatsapp', 'webpush')),
    config       jsonb not null default '{}' check (jsonb_typeof(config) = 'object'),
    secret       text,
    updated_at   timestamptz not null default now(),
    primary key (tenant_id, channel)
);

-- The customer's choice, recorded with the ticket's contact: notify = false after an unsubscribe.
alter table qms.ticket_contacts
    add column notify boolean not null default true,
    add column unsubscribe_token uuid not null default gen_random_uuid();
create index ticket_contacts_unsubscribe_idx on qms.ticket_contacts (unsubscribe_token);

-- Addresses that said STOP (or bounced for good), per tenant and channel, kept as sha256 of the
-- normalised address so the list itself holds no contact data.
create table qms.notification_suppressions (
    tenant_id     uuid not null references qms.tenants (tenant_id),
    channel       text not null check (channel in ('email', 'sms', 'whatsapp', 'push')),
    address_hash  bytea not null,
    reason        text not null,
    created_at    timestamptz not null default now(),
    primary key (tenant_id, channel, address_hash)
);

-- Web Push subscriptions of a ticket's public page (removed on 404/410, and Apple's 403).
create table qms.push_subscriptions (
    tenant_id   uuid not null,
    ticket_id   uuid not null,
    endpoint    text not null check (endpoint ~ '^https://'),
    p256dh      text not null,
    auth        text not null,
    created_at  timestamptz not null default now(),
    primary key (tenant_id, ticket_id, endpoint),
    foreign key (tenant_id, ticket_id) references qms.tickets (tenant_id, ticket_id) on delete cascade
);

-- The outbox. vars: event-time facts for the template (position, counter_id), never contact data; the
-- recipient is read from qms.ticket_contacts at send time, so a purged contact is never sent to.
create table qms.notification_deliveries (
    tenant_id            uuid not null,
    delivery_id          uuid not null default gen_random_uuid(),
    ticket_id            uuid not null,
    event_seq            bigint not null,
    event_type           text not null,
    channel              text not null check (channel in ('email', 'sms', 'whatsapp', 'push')),
    language             text not null,
    vars                 jsonb not null default '{}',
    status               qms.delivery_status not null default 'queued',
    attempts             integer not null default 0,
    max_attempts         integer not null default 5 check (max_attempts > 0),
    next_attempt_at      timestamptz not null default now(),
    lease_owner          text,
    lease_expires_at     timestamptz,
    last_error           text,
    provider             text,
    provider_message_id  text,
    template_id          uuid,
    template_version     integer,
    idempotency_key      text not null generated always as ('qms-' || delivery_id::text) stored,
    created_at           timestamptz not null default now(),
    sent_at              timestamptz,
    delivered_at         timestamptz,
    updated_at           timestamptz not null default now(),
    primary key (tenant_id, delivery_id),
    unique (tenant_id, event_seq, ticket_id, channel),
    foreign key (tenant_id, ticket_id) references qms.tickets (tenant_id, ticket_id) on delete cascade
);
-- "N ahead of you" is sent once per ticket and channel.
create unique index notification_deliveries_ahead_once
    on qms.notification_deliveries (tenant_id, ticket_id, channel) where event_type = 'ticket.ahead';
create index notification_deliveries_due_idx on qms.notification_deliveries (next_attempt_at)
    where status in ('queued', 'temporary_failure');
create index notification_deliveries_lease_idx on qms.notification_deliveries (lease_expires_at)
    where status = 'sending';
create index notification_deliveries_tenant_idx on qms.notification_deliveries (tenant_id, created_at);
create index notification_deliveries_ticket_idx on qms.notification_deliveries (tenant_id, ticket_id);
create index notification_deliveries_dead_idx on qms.notification_deliveries (tenant_id, created_at)
    where status = 'dead';
create index notification_deliveries_provider_ref_idx on qms.notification_deliveries (provider_message_id)
    where provider_message_id is not null;

-- Every attempt, one row: who tried, when, how it ended.
create table qms.notification_attempts (
    tenant_id            uuid not null,
    delivery_id          uuid not null,
    attempt              integer not null check (attempt > 0),
    worker               text not null,
    started_at           timestamptz not null default clock_timestamp(),
    finished_at          timestamptz,
    outcome              text check (outcome in ('sent', 'temporary_failure', 'permanent_failure',
                                                 'lease_expired')),
    error                text,
    provider_message_id  text,
    primary key (tenant_id, delivery_id, attempt),
    foreign key (tenant_id, delivery_id) references qms.notification_deliveries (tenant_id, delivery_id)
        on delete cascade
);
create index notification_attempts_finished_idx on qms.notification_attempts (finished_at);

-- Events that made no delivery, and why (admin-visible; no contact data).
create table qms.notification_skips (
    tenant_id    uuid not null,
    skip_id      bigint generated always as identity,
    ticket_id    uuid not null,
    event_seq    bigint not null,
    event_type   text not null,
    channel      text,
    reason       text not null check (reason in ('NOTIFICATIONS_OFF', 'EVENT_OFF', 'NO_CONTACT', 'OPTED_OUT',
                                                  'CHANNEL_OFF', 'SUPPRESSED')),
    created_at   timestamptz not null default now(),
    primary key (tenant_id, skip_id)
);
create index notification_skips_created_idx on qms.notification_skips (tenant_id, created_at);

alter table qms.notification_settings enable row level security;
alter table qms.notification_settings force row level security;
alter table qms.notification_templates enable row level security;
alter table qms.notification_templates force row level security;
alter table qms.notification_providers enable row level security;
alter table qms.notification_providers force row level security;
alter table qms.notification_suppressions enable row level security;
alter table qms.notification_suppressions force row level security;
alter table qms.push_subscriptions enable row level security;
alter table qms.push_subscriptions force row level security;
alter table qms.notification_deliveries enable row level security;
alter table qms.notification_deliveries force row level security;
alter table qms.notification_attempts enable row level security;
alter table qms.notification_attempts force row level security;
alter table qms.notification_skips enable row level security;
alter table qms.notification_skips force row level security;
