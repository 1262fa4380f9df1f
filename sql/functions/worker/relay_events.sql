-- The event relay's database side (docs/adr/0005-event-delivery.md). For qms_worker only.
--
-- worker.relay_events(after_seq, max_rows default 500) -> table (seq, envelope): committed ticket events with
--   after_seq < seq <= the visibility watermark, in seq order, at most max_rows. The watermark
--   (qms.event_watermark, after qms.sample_event_horizon) guarantees that no event with a lower seq can
--   still commit later: an event whose seq is lower but whose transaction commits later is never skipped;
--   delivery simply stops before it until it commits (or rolls back).
--   envelope = {"v":1, "type", "seq", "ts", "tenant_id", "branch_id",
--               "payload": {"service_id", "counter_id", "area_id", "display_area_id", "prev_display_area_id",
--                           "ticket_id", "ticket_number", "status"}}
--   where status / area_id are the ticket's values as of that event (the latest change at or before it);
--   display_area_id = qms.display_area_id(counter, area) as of that event (the boards that show the ticket
--   now) and prev_display_area_id the same as of the ticket's previous event (the boards that showed it:
--   they need the event to drop the ticket); the gateway routes display topics by both.
--   No PII: contact data is never in events. All tenants for a worker without a tenant claim (RLS).
--   Call it first in a fresh READ COMMITTED transaction: the sample it takes needs an xid-less transaction.
--   Errors: PT403 FORBIDDEN, PT400 INVALID_MAX_ROWS (not 1..10000), PT400 INVALID_SEQ (null or negative).
--   Idempotent for a given after_seq (the same events again). Locking: one horizon slot row.
-- worker.relay_position(relay_name) -> bigint: the delivered seq stored for a relay (0 when new). Stable.
-- worker.relay_ack(relay_name, last_seq) -> bigint: store the delivered seq (never moves backwards); call it in
--   the same transaction as the NOTIFYs so delivery and position commit together. PT400 INVALID_RELAY_NAME.
create or replace function worker.relay_events(after_seq bigint, max_rows integer default 500)
    returns table (seq bigint, envelope jsonb)
    language plpgsql
    security invoker
as $$
declare
    v_bound bigint;
begin
    perform qms.require_role('qms_worker');
    perform qms.require_max_rows(relay_events.max_rows, 10000, 500);
    if relay_events.after_seq is null or relay_events.after_seq < 0 then
        perform qms.fail(400, 'INVALID_SEQ', 'after_seq must be a seq >= 0', 'Pass the last delivered seq (0 at first).');
    end if;
    perform qms.sample_event_horizon();
    v_bound := qms.event_watermark();
    if v_bound <= relay_events.after_seq then
        return;
    end if;
    return query
        select e.seq, jsonb_build_object(
            'v', 1, 'type', e.type, 'seq', e.seq, 'ts', e.created_at,
            'tenant_id', e.tenant_id, 'branch_id', e.branch_id,
            'payload', jsonb_build_object(
                'service_id', e.service_id, 'counter_id', e.counter_id, 'area_id', a.area_id,
                'display_area_id', qms.display_area_id(e.tenant_id, e.counter_id, (a.area_id #>> '{}')::uuid),
                'prev_display_area_id', qms.display_area_id(e.tenant_id, p.counter_id, (p.area_id #>> '{}')::uuid),
                'ticket_id', e.ticket_id, 'ticket_number', t.ticket_number,
                'status', (select x.payload -> 'changes' -> 'status' from qms.ticket_events x
                           where x.tenant_id = e.tenant_id and x.ticket_id = e.ticket_id
                             and x.ticket_seq <= e.ticket_seq and x.payload -> 'changes' ? 'status'
                           order by x.ticket_seq desc limit 1)))
        from qms.ticket_events e
        left join qms.tickets t on t.tenant_id = e.tenant_id and t.ticket_id = e.ticket_id
        cross join lateral (
            select (select x.payload -> 'changes' -> 'area_id' from qms.ticket_events x
                    where x.tenant_id = e.tenant_id and x.ticket_id = e.ticket_id
                      and x.ticket_seq <= e.ticket_seq and x.payload -> 'changes' ? 'area_id'
                    order by x.ticket_seq desc limit 1) as area_id) a
        -- The ticket as of its previous event: looked up only when this event changed the counter or the
        -- area (a call, a transfer, a return to the queue); otherwise it is this event's.
        cross join lateral (
            select case when e.payload -> 'changes' ? 'counter_id'
                        then (select x.counter_id from qms.ticket_events x
                              where x.tenant_id = e.tenant_id and x.ticket_id = e.ticket_id
                                and x.ticket_seq = e.ticket_seq - 1)
                        else e.counter_id end as counter_id,
                   case when e.payload -> 'changes' ? 'area_id'
                        then (select x.payload -> 'changes' -> 'area_id' from qms.ticket_events x
                              where x.tenant_id = e.tenant_id and x.ticket_id = e.ticket_id
                                and x.ticket_seq < e.ticket_seq and x.payload -> 'changes' ? 'area_id'
                              order by x.ticket_seq desc limit 1)
                        else a.area_id end as area_id) p
        where e.seq > relay_events.after_seq and e.seq <= v_bound
        order by e.seq
        limit relay_events.max_rows;
end
$$;
comment on function worker.relay_events(bigint, integer) is
    'Committed ticket events after after_seq up to the visibility watermark, in seq order, as NOTIFY envelopes '
    '(qms_worker). PT400 INVALID_MAX_ROWS/INVALID_SEQ, PT403 FORBIDDEN.';

create or replace function worker.relay_position(relay_name text) returns bigint
    language sql stable
    security invoker
as $$
    select coalesce((select r.last_seq from qms.relay_state r where r.relay_name = relay_position.relay_name), 0)
$$;
comment on function worker.relay_position(text) is 'Delivered seq stored for a relay (0 when unknown).';

create or replace function worker.relay_ack(relay_name text, last_seq bigint) returns bigint
    language plpgsql
    security invoker
as $$
declare
    v_seq bigint;
begin
    perform qms.require_role('qms_worker');
    if relay_ack.relay_name is null or relay_ack.relay_name !~ '^[a-z0-9_.-]{1,64}$' then
        perform qms.fail(400, 'INVALID_RELAY_NAME', 'relay_name must be 1 to 64 of a-z 0-9 _ . -',
                         'Use e.g. "default".');
    end if;
    if relay_ack.last_seq is null or relay_ack.last_seq < 0 then
        perform qms.fail(400, 'INVALID_SEQ', 'last_seq must be a seq >= 0', 'Pass the last delivered seq.');
    end if;
    insert into qms.relay_state as r (relay_name, last_seq, updated_at)
    values (relay_ack.relay_name, relay_ack.last_seq, clock_timestamp())
    on conflict on constraint relay_state_pkey do update
        set last_seq = greatest(r.last_seq, excluded.last_seq), updated_at = excluded.updated_at
    returning r.last_seq into v_seq;
    return v_seq;
end
$$;
comment on function worker.relay_ack(text, bigint) is
    'Store a relay''s delivered seq (monotonic). PT400 INVALID_RELAY_NAME/INVALID_SEQ, PT403 FORBIDDEN.';
