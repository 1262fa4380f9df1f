-- The event visibility watermark (docs/adr/0005-event-delivery.md).
--
-- Identity seq values are drawn at insert, not at commit, so "the highest committed seq" is no watermark:
-- seq 10 may be committed while seq 9 is in flight. Nor is "events whose own xid < snapshot xmin": a
-- transaction with an OLD xid can draw a HIGHER seq than a younger one still in flight (T1 writes a ticket,
-- T2 starts and appends seq 9, T1 appends seq 10 and commits: xmin = T2 > T1, yet seq 9 is not visible).
--
-- The rule used instead:
--   1. every writer has an xid before it draws a seq (trigger ticket_events_assign_xid, statement level,
--      fires before the identity default is evaluated);
--   2. a sampler reads L = the sequence's last_value (non-transactional) and only THEN takes its own xid X;
--      so every transaction holding a seq <= L has an xid < X;
--   3. for a snapshot S, the sample (L, X) is settled when X < pg_snapshot_xmin(S): all transactions older
--      than X have finished, so every event with seq <= L is visible in S or was rolled back.
--   as_of_seq(S) = the highest settled L. It is conservative (it may lag the newest visible event by a
--   poll interval), never optimistic. Requires the sequence cache to be 1 (the identity default).

-- qms.tg_ticket_events__assign_xid: statement-level BEFORE INSERT trigger: assigns the writer's xid before
-- any row default (the seq) is evaluated. No errors, no locks.
create or replace function qms.tg_ticket_events__assign_xid() returns trigger
    language plpgsql
as $$
begin
    perform pg_catalog.pg_current_xact_id();
    return null;
end
$$;
comment on function qms.tg_ticket_events__assign_xid() is
    'Statement trigger on qms.ticket_events: the writer takes its xid before drawing a seq (watermark rule).';

-- qms.sample_event_horizon: take one (L, X) sample for later watermarks; returns L, or null when this
-- transaction already had an xid (then X would not be younger than L: no sample is taken).
-- A sample is taken only when the log moved past every sample (idle polls stay read-only, without an xid).
-- Slots 1..n are a ring (least recently sampled first); a settled sample about to be overwritten is kept in
-- slot 0, so the highest settled bound never goes back. Called by worker.relay_events as the first thing of the
-- relay's transaction. Locking: one slot row (skip locked: two samplers never wait on each other). No errors.
create or replace function qms.sample_event_horizon() returns bigint
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_last bigint;
    v_xmin xid8;
    v_best qms.event_horizon;
begin
    if pg_catalog.pg_current_xact_id_if_assigned() is not null then
        return null;
    end if;
    v_last := coalesce(pg_catalog.pg_sequence_last_value(
        pg_catalog.pg_get_serial_sequence('qms.ticket_events', 'seq')::regclass), 0);
    if v_last <= (select max(h.seq_bound) from qms.event_horizon h) then
        return v_last;  -- nothing new since the last sample: read-only, no xid
    end if;
    v_xmin := pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot());
    select * into v_best from qms.event_horizon h
    where h.slot > 0 order by h.sampled_at, h.slot limit 1 for update skip locked;
    if not found then
        return v_last;
    end if;
    -- The ring slot about to be overwritten is the oldest sample: when it is settled, keep it in slot 0 so
    -- the highest settled bound never goes back (samples are taken in increasing seq_bound order).
    if v_best.xid < v_xmin then
        update qms.event_horizon h set seq_bound = v_best.seq_bound, xid = v_best.xid, sampled_at = v_best.sampled_at
        where h.slot = 0 and h.seq_bound < v_best.seq_bound;
    end if;
    -- The xid is taken here, after v_last was read: the order the rule depends on.
    update qms.event_horizon h
       set seq_bound = v_last, xid = pg_catalog.pg_current_xact_id(), sampled_at = pg_catalog.clock_timestamp()
     where h.slot = v_best.slot;
    return v_last;
end
$$;
comment on function qms.sample_event_horizon() is
    'Record a (seq last_value, fresh xid) sample for the event watermark; null when the transaction already '
    'had an xid. Called by the relay on every poll.';
revoke all on function qms.sample_event_horizon() from public;
grant execute on function qms.sample_event_horizon() to qms_worker;

-- qms.event_watermark: as_of_seq of the current snapshot: the highest sampled seq bound whose sampler xid
-- is older than the snapshot's xmin. Every event with seq <= the result is visible in this snapshot (or
-- was rolled back). Stable (uses the caller's snapshot), no errors, no locks.
create or replace function qms.event_watermark() returns bigint
    language sql stable
    security definer
    set search_path = ''
as $$
    select coalesce(max(h.seq_bound), 0)
    from qms.event_horizon h
    where h.xid < pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())
$$;
comment on function qms.event_watermark() is
    'as_of_seq for the current snapshot: every event with seq <= it is visible (or rolled back).';
revoke all on function qms.event_watermark() from public;
grant execute on function qms.event_watermark()
    to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker;
