-- Core schema: roles, schemas, tenancy, configuration, tickets, events, idempotency, contacts,
-- notifications and the audit log. Every table carries tenant_id and every key leads with it
-- (see docs/adr/0002-tenancy-and-keys.md). Row-level security is enabled and forced here; the
-- policies themselves and the grants live in sql/policies/ and are re-applied on every deploy.

-- Roles (cluster-wide, so created only when missing).
do $$
declare
    v_role text;
begin
    foreach v_role in array array['qms_anon', 'qms_device', 'qms_agent', 'qms_supervisor', 'qms_admin',
                                  'qms_worker', 'qms_analyst'] loop
        if not exists (select 1 from pg_roles where rolname = v_role) then
            execute format('create role %I nologin', v_role);
        end if;
    end loop;
    if not exists (select 1 from pg_roles where rolname = 'qms_authenticator') then
        create role qms_authenticator login noinherit;
    end if;
end
$$;

grant qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst to qms_authenticator;

create schema if not exists qms;
create schema if not exists api;
create schema if not exists audit;
create schema if not exists analytics;

revoke all on schema qms, api, audit, analytics from public;

create type qms.ticket_status as enum ('waiting', 'called', 'serving', 'done', 'no_show', 'cancelled', 'held');
create type qms.counter_status as enum ('available', 'break', 'closed');
create type qms.device_kind as enum ('kiosk', 'display');
create type qms.device_status as enum ('pending', 'active', 'revoked');
create type qms.delivery_status as enum ('queued', 'sending', 'sent', 'delivered', 'failed');

-- Tenants -------------------------------------------------------------------------------------------
create table qms.tenants (
    tenant_id   uuid primary key default gen_random_uuid(),
    name        text not null check (length(btrim(name)) between 1 and 200),
    slug        text not null check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    branding    jsonb not null default '{}',
    features    jsonb not null default '{}',
    pii_policy  jsonb not null default '{"contacts": false, "retention_days": 0}',
    is_active   boolean not null default true,
    created_at  timestamptz not null default now()
);
-- The slug is how people name a tenant at login; it must be unique across tenants.
create unique index tenants_slug_key on qms.tenants (slug);

-- Branches, areas, services, counters -----------------------------------------------------------
create table qms.branches (
    tenant_id   uuid not null references qms.tenants (tenant_id),
    branch_id   uuid not null default gen_random_uuid(),
    name        text not null check (length(btrim(name)) between 1 and 200),
    code        text check (code is null or code ~ '^[A-Za-z0-9_-]{1,32}$'),
    timezone    text not null default 'UTC',
    address     text,
    -- {"mon": [["08:00","15:00"]], ...}; empty or absent means always open
    hours       jsonb not null default '{}',
    is_active   boolean not null default true,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    primary key (tenant_id, branch_id),
    unique (tenant_id, code)
);

create table qms.areas (
    tenant_id   uuid not null,
    area_id     uuid not null default gen_random_uuid(),
    branch_id   uuid not null,
    name        text not null check (length(btrim(name)) between 1 and 200),
    is_active   boolean not null default true,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    primary key (tenant_id, area_id),
    unique (tenant_id, branch_id, area_id),
    unique (tenant_id, branch_id, name),
    foreign key (tenant_id, branch_id) references qms.branches (tenant_id, branch_id)
);

create table qms.services (
    tenant_id    uuid not null,
    service_id   uuid not null default gen_random_uuid(),
    branch_id    uuid not null,
    name         text not null check (length(btrim(name)) between 1 and 200),
    code         text check (code is null or code ~ '^[A-Za-z0-9_-]{1,32}$'),
    prefix       text not null check (prefix ~ '^[A-Z0-9]{1,4}$'),
    sla_minutes  integer not null default 15 check (sla_minutes between 1 and 1440),
    capacity     integer check (capacity is null or capacity > 0),
    hours        jsonb not null default '{}',
    area_id      uuid,
    is_active    boolean not null default true,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    primary key (tenant_id, service_id),
    unique (tenant_id, branch_id, service_id),
    unique (tenant_id, branch_id, name),
    foreign key (tenant_id, branch_id) references qms.branches (tenant_id, branch_id),
    foreign key (tenant_id, branch_id, area_id) references qms.areas (tenant_id, branch_id, area_id)
);

create table qms.counters (
    tenant_id   uuid not null,
    counter_id  uuid not null default gen_random_uuid(),
    branch_id   uuid not null,
    area_id     uuid,
    name        text not null check (length(btrim(name)) between 1 and 100),
    status      qms.counter_status not null default 'closed',
    is_active   boolean not null default true,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    primary key (tenant_id, counter_id),
    unique (tenant_id, branch_id, counter_id),
    unique (tenant_id, branch_id, name),
    foreign key (tenant_id, branch_id) references qms.branches (tenant_id, branch_id),
    foreign key (tenant_id, branch_id, area_id) references qms.areas (tenant_id, branch_id, area_id)
);

-- Skills: which services a counter may call. Same branch is enforced by the keys.
create table qms.counter_services (
    tenant_id   uuid not null,
    branch_id   uuid not null,
    counter_id  uuid not null,
    service_id  uuid not null,
    primary key (tenant_id, counter_id, service_id),
    foreign key (tenant_id, branch_id, counter_id) references qms.counters (tenant_id, branch_id, counter_id)
        on delete cascade,
    foreign key (tenant_id, branch_id, service_id) references qms.services (tenant_id, branch_id, service_id)
        on delete cascade
);
create index counter_services_service_idx on qms.counter_services (tenant_id, service_id);

-- Users and devices -----------------------------------------------------------------------------
create table qms.users (
    tenant_id      uuid not null references qms.tenants (tenant_id),
    user_id        uuid not null default gen_random_uuid(),
    email          text not null check (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    display_name   text not null check (length(btrim(display_name)) between 1 and 200),
    role           text not null check (role in ('agent', 'supervisor', 'admin', 'analyst')),
    branch_ids     uuid[],
    counter_ids    uuid[],
    password_hash  text,
    is_active      boolean not null default true,
    token_version  integer not null default 0,
    last_login_at  timestamptz,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    primary key (tenant_id, user_id)
);
create unique index users_email_key on qms.users (tenant_id, lower(email));

create table qms.devices (
    tenant_id       uuid not null,
    device_id       uuid not null default gen_random_uuid(),
    branch_id       uuid not null,
    area_id         uuid,
    kind            qms.device_kind not null,
    name            text not null check (length(btrim(name)) between 1 and 100),
    status          qms.device_status not null default 'active',
    token_version   integer not null default 0,
    last_seen_at    timestamptz,
    config_version  integer not null default 1,
    config          jsonb not null default '{}',
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    primary key (tenant_id, device_id),
    unique (tenant_id, branch_id, name),
    foreign key (tenant_id, branch_id) references qms.branches (tenant_id, branch_id),
    foreign key (tenant_id, branch_id, area_id) references qms.areas (tenant_id, branch_id, area_id)
);

-- Policies: per branch (service_id null) and per service overrides -----------------------------------
create table qms.policies (
    tenant_id   uuid not null,
    policy_id   uuid not null default gen_random_uuid(),
    branch_id   uuid not null,
    service_id  uuid,
    policy      jsonb not null default '{}' check (jsonb_typeof(policy) = 'object'),
    updated_at  timestamptz not null default now(),
    primary key (tenant_id, policy_id),
    unique nulls not distinct (tenant_id, branch_id, service_id),
    foreign key (tenant_id, branch_id) references qms.branches (tenant_id, branch_id),
    foreign key (tenant_id, branch_id, service_id) references qms.services (tenant_id, branch_id, service_id)
        on delete cascade
);

-- Tickets ---------------------------------------------------------------------------------------
create table qms.tickets (
    tenant_id        uuid not null,
    ticket_id        uuid not null default gen_random_uuid(),
    branch_id        uuid not null,
    service_id       uuid not null,
    area_id          uuid,
    counter_id       uuid,
    ticket_number    text not null,
    number_seq       integer not null,
    business_date    date not null,
    status           qms.ticket_status not null default 'waiting',
    channel          text not null check (channel in ('kiosk', 'web', 'mobile', 'staff', 'api')),
    priority_class   text not null default 'regular'
                     check (priority_class in ('regular', 'priority', 'vip', 'emergency')),
    returned         boolean not null default false,
    transfer_note    text,
    target_counter_id uuid,
    -- the queue position key: set at creation, reset on transfer / return-to-queue per policy
    queued_at        timestamptz not null default now(),
    created_at       timestamptz not null default now(),
    called_at        timestamptz,
    served_at        timestamptz,
    completed_at     timestamptz,
    ended_at         timestamptz,
    version          integer not null default 1,
    event_count      integer not null default 0,
    last_event_hash  bytea,
    -- sha256 of the secret handed to a web customer to read their own ticket
    access_secret_hash bytea,
    primary key (tenant_id, ticket_id),
    unique (tenant_id, branch_id, ticket_id),
    foreign key (tenant_id, branch_id, service_id) references qms.services (tenant_id, branch_id, service_id),
    foreign key (tenant_id, branch_id, counter_id) references qms.counters (tenant_id, branch_id, counter_id),
    foreign key (tenant_id, branch_id, area_id) references qms.areas (tenant_id, branch_id, area_id)
);
-- The hot queue index holds waiting tickets only, so finished tickets never bloat the queue head.
create index tickets_waiting_idx on qms.tickets (tenant_id, service_id, queued_at)
    where status = 'waiting';
-- At most one active (called or serving) ticket per counter.
create unique index tickets_one_active_per_counter on qms.tickets (tenant_id, counter_id)
    where status in ('called', 'serving');
create index tickets_called_idx on qms.tickets (tenant_id, called_at) where status = 'called';
create index tickets_branch_day_idx on qms.tickets (tenant_id, branch_id, business_date);
create unique index tickets_number_key on qms.tickets (tenant_id, service_id, business_date, number_seq);

-- Per service, per business day (branch time) number counters.
create table qms.ticket_number_counters (
    tenant_id      uuid not null,
    service_id     uuid not null,
    business_date  date not null,
    last_n         integer not null default 0,
    primary key (tenant_id, service_id, business_date),
    foreign key (tenant_id, service_id) references qms.services (tenant_id, service_id) on delete cascade
);

-- Append-only event log: a global seq for ordering and resync, a per-ticket sequence and hash chain.
create table qms.ticket_events (
    tenant_id    uuid not null,
    seq          bigint generated always as identity,
    ticket_id    uuid not null,
    ticket_seq   integer not null check (ticket_seq > 0),
    branch_id    uuid not null,
    service_id   uuid not null,
    counter_id   uuid,
    type         text not null check (type ~ '^ticket\.[a-z_]+$'),
    payload      jsonb not null default '{}',
    actor        jsonb not null default '{}',
    request_id   uuid,
    created_at   timestamptz not null default clock_timestamp(),
    prev_hash    bytea,
    hash         bytea not null,
    primary key (tenant_id, seq),
    unique (tenant_id, ticket_id, ticket_seq),
    foreign key (tenant_id, ticket_id) references qms.tickets (tenant_id, ticket_id)
);
create index ticket_events_branch_seq_idx on qms.ticket_events (tenant_id, branch_id, seq);

-- Idempotency: one row per request_id and tenant; the stored response is replayed.
create table qms.idempotency_keys (
    tenant_id    uuid not null,
    request_id   uuid not null,
    command      text not null,
    args_hash    bytea not null,
    response     jsonb,
    created_at   timestamptz not null default now(),
    primary key (tenant_id, request_id)
);
create index idempotency_keys_created_idx on qms.idempotency_keys (tenant_id, created_at);

-- PII lives only here: never in events, logs or analytics; purged after the ticket ends.
create table qms.ticket_contacts (
    tenant_id    uuid not null,
    ticket_id    uuid not null,
    phone        text check (phone is null or phone ~ '^\+?[0-9 ()-]{6,20}$'),
    email        text check (email is null or email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    language     text not null default 'en' check (language ~ '^[a-z]{2}$'),
    consent      boolean not null default false,
    created_at   timestamptz not null default now(),
    purge_after  timestamptz,
    primary key (tenant_id, ticket_id),
    foreign key (tenant_id, ticket_id) references qms.tickets (tenant_id, ticket_id) on delete cascade,
    check (phone is not null or email is not null)
);

-- Notifications ---------------------------------------------------------------------------------
create table qms.notification_templates (
    tenant_id    uuid not null references qms.tenants (tenant_id),
    template_id  uuid not null default gen_random_uuid(),
    event_type   text not null,
    channel      text not null check (channel in ('email', 'sms', 'whatsapp', 'push')),
    language     text not null default 'en' check (language ~ '^[a-z]{2}$'),
    version      integer not null default 1 check (version > 0),
    subject      text,
    body         text not null,
    is_active    boolean not null default true,
    created_at   timestamptz not null default now(),
    primary key (tenant_id, template_id),
    unique (tenant_id, event_type, channel, language, version)
);

create table qms.notification_deliveries (
    tenant_id       uuid not null,
    delivery_id     uuid not null default gen_random_uuid(),
    ticket_id       uuid,
    event_seq       bigint,
    event_type      text not null,
    channel         text not null check (channel in ('email', 'sms', 'whatsapp', 'push')),
    template_id     uuid,
    status          qms.delivery_status not null default 'queued',
    attempts        integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    lease_until     timestamptz,
    last_error      text,
    provider_ref    text,
    created_at      timestamptz not null default now(),
    sent_at         timestamptz,
    primary key (tenant_id, delivery_id),
    unique (tenant_id, event_seq, channel),
    foreign key (tenant_id, ticket_id) references qms.tickets (tenant_id, ticket_id) on delete set null (ticket_id),
    foreign key (tenant_id, template_id) references qms.notification_templates (tenant_id, template_id)
);
create index notification_deliveries_due_idx on qms.notification_deliveries (next_attempt_at)
    where status in ('queued', 'sending');

-- Audit -----------------------------------------------------------------------------------------
-- The chain head per tenant: locking it serialises audit writes of one tenant so the chain never forks.
create table audit.chain_heads (
    tenant_id   uuid primary key references qms.tenants (tenant_id),
    last_seq    bigint not null default 0,
    last_hash   bytea
);

create table audit.log (
    tenant_id    uuid not null references qms.tenants (tenant_id),
    seq          bigint not null,
    actor_sub    text,
    actor_role   text,
    action       text not null,
    target_type  text not null,
    target_id    text,
    before       jsonb,
    after        jsonb,
    ip           text,
    user_agent   text,
    request_id   text,
    created_at   timestamptz not null default clock_timestamp(),
    prev_hash    bytea,
    hash         bytea not null,
    primary key (tenant_id, seq)
);
create index audit_log_action_idx on audit.log (tenant_id, action, created_at);
create index audit_log_created_idx on audit.log (tenant_id, created_at);

-- Row-level security on every table, forced so that even the owner's invoker paths obey it.
alter table qms.tenants enable row level security;
alter table qms.tenants force row level security;
alter table qms.branches enable row level security;
alter table qms.branches force row level security;
alter table qms.areas enable row level security;
alter table qms.areas force row level security;
alter table qms.services enable row level security;
alter table qms.services force row level security;
alter table qms.counters enable row level security;
alter table qms.counters force row level security;
alter table qms.counter_services enable row level security;
alter table qms.counter_services force row level security;
alter table qms.users enable row level security;
alter table qms.users force row level security;
alter table qms.devices enable row level security;
alter table qms.devices force row level security;
alter table qms.policies enable row level security;
alter table qms.policies force row level security;
alter table qms.tickets enable row level security;
alter table qms.tickets force row level security;
alter table qms.ticket_number_counters enable row level security;
alter table qms.ticket_number_counters force row level security;
alter table qms.ticket_events enable row level security;
alter table qms.ticket_events force row level security;
alter table qms.idempotency_keys enable row level security;
alter table qms.idempotency_keys force row level security;
alter table qms.ticket_contacts enable row level security;
alter table qms.ticket_contacts force row level security;
alter table qms.notification_templates enable row level security;
alter table qms.notification_templates force row level security;
alter table qms.notification_deliveries enable row level security;
alter table qms.notification_deliveries force row level security;
alter table audit.chain_heads enable row level security;
alter table audit.chain_heads force row level security;
alter table audit.log enable row level security;
alter table audit.log force row level security;
