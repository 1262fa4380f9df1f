-- api.call_next: the counter's next ticket, in one transaction.
-- Transition: waiting -> called (event ticket.called). Returns {"ticket": ticket|null, "reason": ...}:
--   reason counter_unavailable (counter on break/closed/inactive), queue_empty (nothing this counter may take
--   waits in its mapped services), no_compatible_ticket (tickets wait there, but all are transferred to
--   other counters); null with a ticket.
-- Order (docs/engine.md): among waiting tickets of the services mapped to the counter (skills), tickets
--   targeted at another counter excluded, held never (not waiting): priority rank (emergency > vip >
--   priority > regular), then queued_at. Anti-starvation: once a service has had priority_ratio (policy)
--   consecutive non-regular calls, its oldest regular ticket goes first.
-- Errors: PT404 COUNTER_NOT_FOUND, PT403 COUNTER_FORBIDDEN (claims may not operate the counter),
--   PT409 COUNTER_BUSY (the counter already has a called/serving ticket), PT409 IDEMPOTENCY_KEY_REUSED,
--   PT401 TENANT_REQUIRED.
-- Idempotency: request_id replays the stored answer, no new event.
-- Statements on the happy path (no request_id; no streak owed): lock the counter; then one statement that
--   checks the counter is not busy, picks (best head among the counter's services, then that service's
--   queue with skip locked), updates the ticket (status and event bookkeeping together) and inserts its
--   event; the call-state row is touched only for a priority call or to end a streak. Anything else (busy,
--   owed, contended, empty) takes the step-by-step path, which also tells the reason.
-- Locking: the counter row (for no key update: one call at a time per counter, no double active ticket),
--   then the picked ticket with for update skip locked (concurrent callers never wait on each other's
--   tickets, never get the same one, never lose one); the service's call-state row only on priority calls
--   or when resetting the streak. Lock order counter -> ticket -> call state, so no deadlock.
create or replace function api.call_next(counter_id uuid, request_id uuid default null) returns jsonb
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid := qms.current_tenant_id();
    v_replay jsonb;
    v_counter qms.counters;
    v_busy boolean;
    v_services uuid[];
    v_owed uuid[];
    v_old qms.tickets;
    v_new qms.tickets;
    v_ticket qms.tickets;
    v_payload jsonb;
    v_hash bytea;
    v_now timestamptz;
    v_fast record;
begin
    if v_tenant is null then
        v_tenant := qms.require_tenant();  -- raises PT401 TENANT_REQUIRED
    end if;
    if call_next.request_id is not null then
        v_replay := qms.idempotency_begin(call_next.request_id, 'call_next',
                                          jsonb_build_object('counter_id', call_next.counter_id));
        if v_replay is not null then
            return v_replay;
        end if;
    end if;
    -- Lock first. Row locks also apply the counters UPDATE policy, so a counter the caller can see but not
    -- operate is not returned here; only then does an unlocked read tell FORBIDDEN from NOT_FOUND.
    select * into v_counter from qms.counters c
    where c.tenant_id = v_tenant and c.counter_id = call_next.counter_id for no key update;
    if not found then
        perform qms.fail_counter_unreachable(v_tenant, call_next.counter_id);
    end if;
    if not qms.can_use_counter(v_counter.branch_id, v_counter.counter_id) then
        perform qms.require_counter_use(v_counter.branch_id, v_counter.counter_id);  -- raises PT403
    end if;
    if v_counter.status <> 'available' or not v_counter.is_active then
        return qms.idempotency_finish(call_next.request_id,
                                      jsonb_build_object('ticket', null, 'reason', 'counter_unavailable'));
    end if;

    -- The usual call in one statement: unless the counter is busy or one of its services is owed a regular
    -- call (anti-starvation), the best head among the counter's services (unlocked reads, one index probe
    -- per service), then that service's queue with skip locked; the guarded ticket update and its event
    -- follow in the same statement. Anything else (busy, owed, the best service fully locked, nothing
    -- waiting) falls through to the step-by-step path below, which also says why.
    v_now := clock_timestamp();
    with mapped as (
        select cs.service_id,
               coalesce(st.consecutive_priority, 0) <> 0 as streak,
               case when coalesce(st.consecutive_priority, 0) = 0 then false
                    else st.consecutive_priority >= coalesce((qms.effective_policy(v_tenant, v_counter.branch_id,
                                                    cs.service_id) ->> 'priority_ratio')::integer, 3) end as owed
        from qms.counter_services cs
        left join qms.service_call_state st on st.tenant_id = cs.tenant_id and st.service_id = cs.service_id
        where cs.tenant_id = v_tenant and cs.counter_id = v_counter.counter_id
    ), pick as (
        select t.* from qms.tickets t
        where t.tenant_id = v_tenant and t.status = 'waiting'
          and (t.target_counter_id is null or t.target_counter_id = v_counter.counter_id)
          and t.service_id = (
              select m.service_id from mapped m
              cross join lateral (
                  select h.priority_rank, h.queued_at from qms.tickets h
                  where h.tenant_id = v_tenant and h.service_id = m.service_id and h.status = 'waiting'
                    and (h.target_counter_id is null or h.target_counter_id = v_counter.counter_id)
                  order by h.priority_rank, h.queued_at
                  limit 1) head
              order by head.priority_rank, head.queued_at
              limit 1)
          and not exists (select 1 from mapped m where m.owed)
          and not exists (select 1 from qms.tickets b
                          where b.tenant_id = v_tenant and b.counter_id = v_counter.counter_id
                            and b.status in ('called', 'serving'))
        order by t.priority_rank, t.queued_at
        limit 1 for update skip locked
    ), ev as (
        select p.ticket_id, p.event_count + 1 as n, p.last_event_hash as prev_hash, pl.payload,
               qms.ticket_event_hash(p.last_event_hash, v_tenant, p.ticket_id, p.event_count + 1, 'ticket.called',
                                     pl.payload) as hash
        from pick p
        cross join lateral (
            select jsonb_build_object('changes', jsonb_build_object('status', 'called', 'called_at', v_now)
                   || case when p.counter_id is distinct from v_counter.counter_id
                           then jsonb_build_object('counter_id', v_counter.counter_id) else '{}'::jsonb end
                   || case when p.target_counter_id is not null
                           then '{"target_counter_id": null}'::jsonb else '{}'::jsonb end) as payload) pl
    ), upd as (
        update qms.tickets t
           set status = 'called', counter_id = v_counter.counter_id, called_at = v_now, target_counter_id = null,
               event_count = ev.n, version = ev.n, last_event_hash = ev.hash
          from ev
         where t.tenant_id = v_tenant and t.ticket_id = ev.ticket_id and t.status = 'waiting'
           and t.event_count = ev.n - 1
        returning t.*
    ), ins as (
        insert into qms.ticket_events (tenant_id, ticket_id, ticket_seq, branch_id, service_id, counter_id, type,
                                       payload, actor, request_id, prev_hash, hash)
        select u.tenant_id, u.ticket_id, ev.n, u.branch_id, u.service_id, u.counter_id, 'ticket.called', ev.payload,
               jsonb_build_object('sub', qms.current_sub(), 'role', qms.current_role_name()),
               call_next.request_id, ev.prev_hash, ev.hash
        from upd u join ev on ev.ticket_id = u.ticket_id
    )
    select u as ticket, m.streak into v_fast
    from upd u join mapped m on m.service_id = u.service_id;
    if found then
        v_ticket := v_fast.ticket;
        if v_ticket.priority_rank < 3 then
            insert into qms.service_call_state as s (tenant_id, service_id, consecutive_priority)
            values (v_tenant, v_ticket.service_id, 1)
            on conflict (tenant_id, service_id)
            do update set consecutive_priority = s.consecutive_priority + 1, updated_at = now();
        elsif v_fast.streak then
            update qms.service_call_state s set consecutive_priority = 0, updated_at = now()
             where s.tenant_id = v_tenant and s.service_id = v_ticket.service_id;
        end if;
        v_payload := jsonb_build_object('ticket', qms.ticket_json(v_ticket, false), 'reason', null);
        if call_next.request_id is null then
            return v_payload;
        end if;
        return qms.idempotency_finish(call_next.request_id, v_payload);
    end if;

    -- The step-by-step path: why nothing was called, or the owed / contended cases.
    -- Busy check, mapped services and those owed a regular call (the policy is read only for a running
    -- streak), in one query.
    select exists (select 1 from qms.tickets t where t.tenant_id = v_tenant and t.counter_id = v_counter.counter_id
                   and t.status in ('called', 'serving')),
           m.services, m.owed
      into v_busy, v_services, v_owed
    from (select array_agg(cs.service_id) as services,
                 array_agg(cs.service_id) filter (where case when coalesce(st.consecutive_priority, 0) = 0 then false
                     else st.consecutive_priority >= coalesce((qms.effective_policy(v_tenant, v_counter.branch_id,
                                                               cs.service_id) ->> 'priority_ratio')::integer, 3) end)
                     as owed
          from qms.counter_services cs
          left join qms.service_call_state st on st.tenant_id = cs.tenant_id and st.service_id = cs.service_id
          where cs.tenant_id = v_tenant and cs.counter_id = v_counter.counter_id) m;
    if v_busy then
        perform qms.fail(409, 'COUNTER_BUSY', 'the counter already has a called or serving ticket',
                         'Complete, transfer or mark the current ticket as no-show first.');
    end if;

    -- Owed services first (their oldest regular), then everything; per service the head is one index scan.
    if v_owed is not null then
        v_old := qms.call_next_pick(v_tenant, v_counter.counter_id, v_owed, true);
    end if;
    if v_old.ticket_id is null then
        -- Every service in call order (the fast statement found nothing: the best service's waiting tickets
        -- are all being called by someone else right now, or a streak was owed and no regular ticket waits).
        v_old := qms.call_next_pick(v_tenant, v_counter.counter_id, v_services, false);
    end if;

    if v_old.ticket_id is null then
        return qms.idempotency_finish(call_next.request_id, jsonb_build_object('ticket', null, 'reason',
            case when exists (select 1 from qms.tickets t
                              where t.tenant_id = v_tenant and t.service_id = any (v_services)
                                and t.status = 'waiting' and t.target_counter_id <> v_counter.counter_id)
                 then 'no_compatible_ticket' else 'queue_empty' end));
    end if;

    -- The change and the event bookkeeping in one guarded update: the event's hash is known beforehand.
    v_new := v_old;
    v_new.status := 'called';
    v_new.counter_id := v_counter.counter_id;
    v_new.called_at := clock_timestamp();
    v_new.target_counter_id := null;
    -- The changed event columns (what qms.ticket_changes would compute, without comparing every column).
    v_payload := jsonb_build_object('status', 'called', 'called_at', v_new.called_at);
    if v_old.counter_id is distinct from v_new.counter_id then
        v_payload := v_payload || jsonb_build_object('counter_id', v_new.counter_id);
    end if;
    if v_old.target_counter_id is not null then
        v_payload := v_payload || '{"target_counter_id": null}'::jsonb;
    end if;
    v_payload := jsonb_build_object('changes', v_payload);
    v_hash := qms.ticket_event_hash(v_old.last_event_hash, v_tenant, v_old.ticket_id, v_old.event_count + 1,
                                    'ticket.called', v_payload);
    -- The event first: its foreign-key check then key-share-locks the ticket version this transaction
    -- already holds for update (no extra row-lock record); the guarded update follows.
    v_new.event_count := v_old.event_count + 1;
    v_new.version := v_new.event_count;
    v_new.last_event_hash := v_hash;
    perform qms.write_ticket_event(v_new, v_old.last_event_hash, 'ticket.called', v_payload, call_next.request_id);
    update qms.tickets t
       set status = 'called', counter_id = v_new.counter_id, called_at = v_new.called_at, target_counter_id = null,
           event_count = v_old.event_count + 1, version = v_old.event_count + 1, last_event_hash = v_hash
     where t.tenant_id = v_tenant and t.ticket_id = v_old.ticket_id and t.status = 'waiting'
       and t.event_count = v_old.event_count
    returning * into v_ticket;
    if not found then
        perform qms.fail(409, 'EVENT_CHAIN_CONFLICT', 'the ticket changed while it was called',
                         'Retry the call.');
    end if;

    if v_ticket.priority_rank < 3 then
        insert into qms.service_call_state as s (tenant_id, service_id, consecutive_priority)
        values (v_tenant, v_ticket.service_id, 1)
        on conflict (tenant_id, service_id)
        do update set consecutive_priority = s.consecutive_priority + 1, updated_at = now();
    else
        update qms.service_call_state s set consecutive_priority = 0, updated_at = now()
         where s.tenant_id = v_tenant and s.service_id = v_ticket.service_id and s.consecutive_priority <> 0;
    end if;
    return qms.idempotency_finish(call_next.request_id,
                                  jsonb_build_object('ticket', qms.ticket_json(v_ticket, false), 'reason', null));
end
$$;
comment on function api.call_next(uuid, uuid) is
    'Call the next ticket at a counter: {"ticket", "reason"}; reasons queue_empty, no_compatible_ticket, '
    'counter_unavailable. PT404 COUNTER_NOT_FOUND, PT403 COUNTER_FORBIDDEN, PT409 COUNTER_BUSY/IDEMPOTENCY_KEY_REUSED.';
