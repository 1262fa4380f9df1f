-- Helpers of api.ticket_action (docs/engine.md).
--
-- qms.ticket_action_apply(old, action, policy, counter, target service, target counter, reason) -> new row:
--   the ticket as the (already allowed) action leaves it. Transfer validates its targets: PT404
--   SERVICE_NOT_FOUND / COUNTER_NOT_FOUND (unknown, inactive, other tenant or out of scope), PT400
--   TRANSFER_CROSS_BRANCH (target in another branch), PT400 COUNTER_NOT_MAPPED (target counter does not serve
--   the target service). Queue placement: a transferred ticket is queued by its original created_at (it
--   keeps its place by arrival time); a returned no-show is queued at clock_timestamp() (back of its class).
--   Stable, reads only, no locks.
-- qms.ticket_call_check_counter(ticket, counter): the counter checks of the out-of-order call:
--   PT404 COUNTER_NOT_FOUND, PT403 COUNTER_FORBIDDEN, PT400 COUNTER_NOT_MAPPED (not serving the ticket's
--   service), PT409 COUNTER_UNAVAILABLE (break/closed), PT409 COUNTER_BUSY. Locks the counter row (for no key
--   update) like api.call_next, so a counter never gets two active tickets.
create or replace function qms.ticket_action_apply(
    p_old qms.tickets, p_action text, p_policy jsonb, p_counter_id uuid,
    p_target_service_id uuid, p_target_counter_id uuid, p_reason text
) returns qms.tickets
    language plpgsql stable
as $$
declare
    v_new qms.tickets := p_old;
    v_service qms.services;
    v_counter qms.counters;
begin
    case p_action
    when 'recall' then
        null;
    when 'start' then
        v_new.status := 'serving'; v_new.served_at := clock_timestamp();
    when 'complete' then
        v_new.status := 'done'; v_new.completed_at := clock_timestamp(); v_new.ended_at := v_new.completed_at;
    when 'hold' then
        v_new.status := 'held';
    when 'unhold' then
        v_new.status := 'waiting';
    when 'cancel' then
        v_new.status := 'cancelled'; v_new.ended_at := clock_timestamp();
    when 'call' then
        v_new.status := 'called'; v_new.counter_id := p_counter_id; v_new.called_at := clock_timestamp();
        v_new.target_counter_id := null;
    when 'mark_no_show' then
        if coalesce((p_policy ->> 'return_to_queue')::boolean, false) then
            v_new.status := 'waiting'; v_new.returned := true; v_new.counter_id := null;
            v_new.called_at := null; v_new.queued_at := clock_timestamp();
        else
            v_new.status := 'no_show'; v_new.ended_at := clock_timestamp();
        end if;
    when 'transfer' then
        select * into v_service from qms.services s
        where s.tenant_id = p_old.tenant_id and s.service_id = coalesce(p_target_service_id, p_old.service_id)
          and s.is_active;
        if not found then
            perform qms.fail(404, 'SERVICE_NOT_FOUND', 'target service not found',
                             'Pick an active service of the ticket''s branch.');
        end if;
        if v_service.branch_id <> p_old.branch_id then
            perform qms.fail(400, 'TRANSFER_CROSS_BRANCH', 'a ticket moves only within its branch',
                             'Pick a service or counter of the same branch, or issue a new ticket there.');
        end if;
        if p_target_counter_id is not null then
            select * into v_counter from qms.counters c
            where c.tenant_id = p_old.tenant_id and c.counter_id = p_target_counter_id and c.is_active;
            if not found then
                perform qms.fail(404, 'COUNTER_NOT_FOUND', 'target counter not found', 'Pick a counter of the branch.');
            end if;
            if v_counter.branch_id <> p_old.branch_id then
                perform qms.fail(400, 'TRANSFER_CROSS_BRANCH', 'a ticket moves only within its branch',
                                 'Pick a counter of the same branch.');
            end if;
            if not exists (select 1 from qms.counter_services cs
                           where cs.tenant_id = p_old.tenant_id and cs.counter_id = v_counter.counter_id
                             and cs.service_id = v_service.service_id) then
                perform qms.fail(400, 'COUNTER_NOT_MAPPED', 'the target counter does not serve that service',
                                 'Also pass target_service_id of a service the counter serves.');
            end if;
        end if;
        v_new.service_id := v_service.service_id; v_new.area_id := v_service.area_id;
        v_new.status := 'waiting'; v_new.counter_id := null; v_new.target_counter_id := p_target_counter_id;
        v_new.transfer_note := p_reason; v_new.queued_at := p_old.created_at;
        v_new.called_at := null; v_new.served_at := null;
    end case;
    return v_new;
end
$$;
comment on function qms.ticket_action_apply(qms.tickets, text, jsonb, uuid, uuid, uuid, text) is
    'The ticket as an allowed action leaves it (validates transfer targets: PT404 SERVICE_NOT_FOUND/'
    'COUNTER_NOT_FOUND, PT400 TRANSFER_CROSS_BRANCH/COUNTER_NOT_MAPPED).';

create or replace function qms.ticket_call_check_counter(p_ticket qms.tickets, p_counter_id uuid) returns void
    language plpgsql
as $$
declare
    v_counter qms.counters;
begin
    select * into v_counter from qms.counters c where c.tenant_id = p_ticket.tenant_id and c.counter_id = p_counter_id;
    if not found then
        perform qms.fail(404, 'COUNTER_NOT_FOUND', 'counter not found', 'Pick a counter of the ticket''s branch.');
    end if;
    perform qms.require_counter_use(v_counter.branch_id, v_counter.counter_id);
    if not exists (select 1 from qms.counter_services cs
                   where cs.tenant_id = p_ticket.tenant_id and cs.counter_id = p_counter_id
                     and cs.service_id = p_ticket.service_id) then
        perform qms.fail(400, 'COUNTER_NOT_MAPPED', 'the counter does not serve this ticket''s service',
                         'Call it at a counter mapped to the service.');
    end if;
    select * into v_counter from qms.counters c
    where c.tenant_id = p_ticket.tenant_id and c.counter_id = p_counter_id for no key update;
    if v_counter.status <> 'available' or not v_counter.is_active then
        perform qms.fail(409, 'COUNTER_UNAVAILABLE', format('the counter is %s', v_counter.status),
                         'Set the counter available first.');
    end if;
    if exists (select 1 from qms.tickets t where t.tenant_id = p_ticket.tenant_id and t.counter_id = p_counter_id
               and t.status in ('called', 'serving')) then
        perform qms.fail(409, 'COUNTER_BUSY', 'the counter already has a called or serving ticket',
                         'Complete, transfer or mark the current ticket as no-show first.');
    end if;
end
$$;
comment on function qms.ticket_call_check_counter(qms.tickets, uuid) is
    'Counter checks and lock of an out-of-order call: PT404 COUNTER_NOT_FOUND, PT403 COUNTER_FORBIDDEN, '
    'PT400 COUNTER_NOT_MAPPED, PT409 COUNTER_UNAVAILABLE/COUNTER_BUSY.';
