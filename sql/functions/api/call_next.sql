-- api.call_next: the counter's next ticket, in one transaction.
-- Transition: waiting -> called (event ticket.called). Returns {"ticket": ticket|null, "reason": ...}:
--   reason counter_unavailable (counter on break/closed/inactive), queue_empty (nothing this counter may take
--   waits in its mapped services), no_compatible_ticket (tickets wait there, but all are transferred to
--   other counters); null with a ticket.
-- Order: qms.call_next_pick, the one place of the queue order (docs/engine.md). Anti-starvation: once a
--   service has had priority_ratio (policy) consecutive non-regular calls, its oldest regular ticket goes
--   first: the owed services are picked from first (regular tickets only), then all mapped services.
-- Errors: PT404 COUNTER_NOT_FOUND, PT403 COUNTER_FORBIDDEN (claims may not operate the counter),
--   PT409 COUNTER_BUSY (the counter already has a called/serving ticket), PT409 IDEMPOTENCY_KEY_REUSED,
--   PT401 TENANT_REQUIRED.
-- Idempotency: request_id replays the stored answer, no new event.
-- Locking: the counter row (for no key update: one call at a time per counter, no double active ticket),
--   then the picked ticket with for update skip locked (concurrent callers never wait on each other's
--   tickets, never get the same one, never lose one), then the service's call-state row when the streak
--   changes. Lock order counter -> ticket -> call state, so no deadlock. The change and its event are
--   written by the one writer, qms.advance_ticket.
create or replace function api.call_next(counter_id uuid, request_id uuid default null) returns jsonb
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid := qms.require_tenant();  -- raises PT401 TENANT_REQUIRED
    v_replay jsonb;
    v_counter qms.counters;
    v_busy boolean;
    v_services uuid[];
    v_owed uuid[];
    v_old qms.tickets;
    v_ticket qms.tickets;
begin
    v_replay := qms.idempotency_begin(call_next.request_id, 'call_next',
                                      jsonb_build_object('counter_id', call_next.counter_id));
    if v_replay is not null then
        return v_replay;
    end if;
    -- Lock first. Row locks also apply the counters UPDATE policy, so a counter the caller can see but not
    -- operate is not returned here; only then does an unlocked read tell FORBIDDEN from NOT_FOUND.
    select * into v_counter from qms.counters c
    where c.tenant_id = v_tenant and c.counter_id = call_next.counter_id for no key update;
    if not found then
        perform qms.fail_counter_unreachable(v_tenant, call_next.counter_id);
    end if;
    perform qms.require_counter_use(v_counter.branch_id, v_counter.counter_id);  -- raises PT403
    if v_counter.status <> 'available' or not v_counter.is_active then
        return qms.idempotency_finish(call_next.request_id,
                                      jsonb_build_object('ticket', null, 'reason', 'counter_unavailable'));
    end if;

    -- Busy check, mapped services and those owed a regular call (the policy is read only for a running
    -- streak; a service with no call-state row has none, hence the coalesce: a null would not stop the
    -- AND before the policy), in one query.
    select exists (select 1 from qms.tickets t where t.tenant_id = v_tenant and t.counter_id = v_counter.counter_id
                   and t.status in ('called', 'serving')),
           m.services, m.owed
      into v_busy, v_services, v_owed
    from (select array_agg(cs.service_id) as services,
                 array_agg(cs.service_id) filter (where coalesce(st.consecutive_priority, 0) > 0
                     and st.consecutive_priority >= coalesce((qms.effective_policy(v_tenant, v_counter.branch_id,
                                                              cs.service_id) ->> 'priority_ratio')::integer, 3))
                     as owed
          from qms.counter_services cs
          left join qms.service_call_state st on st.tenant_id = cs.tenant_id and st.service_id = cs.service_id
          where cs.tenant_id = v_tenant and cs.counter_id = v_counter.counter_id) m;
    if v_busy then
        perform qms.fail(409, 'COUNTER_BUSY', 'the counter already has a called or serving ticket',
                         'Complete, transfer or mark the current ticket as no-show first.');
    end if;

    -- Owed services first (their oldest regular), then every mapped service.
    if v_owed is not null then
        v_old := qms.call_next_pick(v_tenant, v_counter.counter_id, v_owed, true);
    end if;
    if v_old.ticket_id is null then
        v_old := qms.call_next_pick(v_tenant, v_counter.counter_id, v_services, false);
    end if;
    if v_old.ticket_id is null then
        return qms.idempotency_finish(call_next.request_id, jsonb_build_object('ticket', null, 'reason',
            case when exists (select 1 from qms.tickets t
                              where t.tenant_id = v_tenant and t.service_id = any (v_services)
                                and t.status = 'waiting' and t.target_counter_id <> v_counter.counter_id)
                 then 'no_compatible_ticket' else 'queue_empty' end));
    end if;

    v_ticket := qms.advance_ticket(v_old,
                                   qms.ticket_action_apply(v_old, 'call', null, v_counter.counter_id, null, null, null),
                                   'ticket.called', '{}', call_next.request_id);
    perform qms.record_priority_call(v_ticket);
    return qms.idempotency_finish(call_next.request_id,
                                  jsonb_build_object('ticket', qms.ticket_json(v_ticket, false), 'reason', null));
end
$$;
comment on function api.call_next(uuid, uuid) is
    'Call the next ticket at a counter: {"ticket", "reason"}; reasons queue_empty, no_compatible_ticket, '
    'counter_unavailable. PT404 COUNTER_NOT_FOUND, PT403 COUNTER_FORBIDDEN, PT409 COUNTER_BUSY/IDEMPOTENCY_KEY_REUSED.';
