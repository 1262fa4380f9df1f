-- qms.call_next_pick(tenant, counter, services, regular_only): lock and return the next waiting ticket for
-- a counter among the given services (null row when none), for api.call_next.
-- Order: priority rank, then queued_at (regular_only: the oldest regular ticket). Tickets transferred to
-- another counter are skipped.
-- One service: a single index scan of tickets_queue_idx with `for update skip locked`. Several services:
-- the heads of every service are read without locks (one short index scan each) and the best service is
-- then locked with `for update skip locked`; if everything there is being called by someone else, the next
-- best service is tried. So the queue is never sorted as a whole, no ticket is handed out twice
-- (the lock plus the caller's guarded update) and none is lost (skip locked only skips rows another
-- transaction is calling right now).
-- Errors: none. Locking: the returned ticket row, until commit. Volatile (locks).
create or replace function qms.call_next_pick(p_tenant_id uuid, p_counter_id uuid, p_services uuid[],
                                              p_regular_only boolean)
    returns qms.tickets
    language plpgsql
    -- The head query over unnest(p_services) was re-planned on every call (custom plans); its generic plan is
    -- the same per-service index scan.
    set plan_cache_mode = force_generic_plan
as $$
declare
    v_ticket qms.tickets;
    v_service uuid;
    v_tried uuid[] := '{}';
begin
    loop
        if cardinality(p_services) = 1 then
            v_service := p_services[1];
            exit when v_service = any (v_tried);
        else
            select s.sid into v_service
            from unnest(p_services) s(sid)
            cross join lateral (
                select t.priority_rank, t.queued_at from qms.tickets t
                where t.tenant_id = p_tenant_id and t.service_id = s.sid and t.status = 'waiting'
                  and (not p_regular_only or t.priority_rank = 3)
                  and (t.target_counter_id is null or t.target_counter_id = p_counter_id)
                order by t.priority_rank, t.queued_at
                limit 1) h
            where s.sid <> all (v_tried)
            order by h.priority_rank, h.queued_at
            limit 1;
            exit when v_service is null;
        end if;
        select * into v_ticket from qms.tickets t
        where t.tenant_id = p_tenant_id and t.service_id = v_service and t.status = 'waiting'
          and (not p_regular_only or t.priority_rank = 3)
          and (t.target_counter_id is null or t.target_counter_id = p_counter_id)
        order by t.priority_rank, t.queued_at
        limit 1 for update skip locked;
        exit when found;
        v_tried := v_tried || v_service;
        v_service := null;
    end loop;
    return v_ticket;
end
$$;
comment on function qms.call_next_pick(uuid, uuid, uuid[], boolean) is
    'Lock (skip locked) and return the next waiting ticket of a counter among services, in call order; '
    'null row when none.';

-- qms.record_priority_call(ticket): the anti-starvation streak after a call of the ticket by api.call_next.
-- A non-regular call adds one to its service's consecutive_priority; a regular call ends a running streak.
-- The row is written only when the value changes, so a queue of regular tickets never touches it.
-- Errors: none. Locking: the service's call-state row, until commit (after the ticket: no deadlock).
create or replace function qms.record_priority_call(p_ticket qms.tickets) returns void
    language plpgsql
as $$
begin
    if p_ticket.priority_rank < 3 then
        insert into qms.service_call_state as s (tenant_id, service_id, consecutive_priority)
        values (p_ticket.tenant_id, p_ticket.service_id, 1)
        on conflict (tenant_id, service_id)
        do update set consecutive_priority = s.consecutive_priority + 1, updated_at = now();
    else
        update qms.service_call_state s set consecutive_priority = 0, updated_at = now()
         where s.tenant_id = p_ticket.tenant_id and s.service_id = p_ticket.service_id
           and s.consecutive_priority <> 0;
    end if;
end
$$;
comment on function qms.record_priority_call(qms.tickets) is
    'Anti-starvation bookkeeping after api.call_next called a ticket: count non-regular calls, reset on regular.';
