-- Event delivery and read side of the queue engine (docs/adr/0005-event-delivery.md).
--
-- Identity seq values are assigned at insert, not at commit: a reader can see seq 10 committed while
-- seq 9 is still in flight. This migration adds what the visibility watermark needs:
--   * ticket_events.xid: the writing transaction (pg_current_xact_id()), for diagnostics and tests;
--   * a BEFORE INSERT ... FOR EACH STATEMENT trigger that assigns the writer's xid before the identity
--     default draws the seq (statement triggers fire before the row defaults are evaluated), so that
--     "got a seq <= L" implies "had an xid before L was read";
--   * qms.event_horizon: samples (L, X) = (seq last_value read first, then the sampler's own fresh xid).
--     A sample is settled for a snapshot S when X < pg_snapshot_xmin(S): every transaction that could hold
--     a seq <= L had an xid < X and has finished, so every event with seq <= L is visible in S or never
--     will be. The watermark (as_of_seq) is the highest settled L.
--   * qms.relay_state: the relay's delivered position, so a restarted relay resumes.

alter table qms.ticket_events add column xid xid8 not null default pg_current_xact_id();

-- The relay and resync read the log by global seq across tenants.
create index ticket_events_seq_idx on qms.ticket_events (seq);

create table qms.event_horizon (
    slot        smallint primary key check (slot between 0 and 63),
    seq_bound   bigint not null default 0,
    xid         xid8 not null default '0'::xid8,
    sampled_at  timestamptz not null default now()
);
comment on table qms.event_horizon is
    'lint:global infrastructure: samples (seq bound, sampler xid) of the one global event seq; no tenant data. '
    'Slot 0 carries the highest settled sample forward, slots 1..n are a ring written by the relay.';
insert into qms.event_horizon (slot) select g from generate_series(0, 15) g;
alter table qms.event_horizon enable row level security;
alter table qms.event_horizon force row level security;

create table qms.relay_state (
    relay_name  text primary key check (relay_name ~ '^[a-z0-9_.-]{1,64}$'),
    last_seq    bigint not null default 0 check (last_seq >= 0),
    updated_at  timestamptz not null default now()
);
comment on table qms.relay_state is
    'lint:global infrastructure: the delivered seq of each event relay (the log is global, so is the '
    'position); no tenant data.';
alter table qms.relay_state enable row level security;
alter table qms.relay_state force row level security;
