-- api.ticket_action: every staff action on one ticket (docs/engine.md has the table).
-- Transitions are data (qms.ticket_transitions); anything else is PT409 INVALID_TRANSITION:
--   recall called->called, start called->serving, complete serving->done, hold waiting->held,
--   unhold held->waiting, cancel (policy cancel_from, default waiting/held)->cancelled,
--   mark_no_show called->no_show (or ->waiting with returned=true when the policy's return_to_queue is on:
--   queued again at the back of its priority class, queued_at = clock_timestamp()), transfer waiting/called/serving->
--   waiting in the target service (or for the target counter; queued by its original created_at),
--   call waiting->called at counter_id out of order (supervisors/admins).
-- Errors: PT400 INVALID_ACTION, PT400 COUNTER_REQUIRED (recall/start/complete/mark_no_show/call without
--   counter_id), PT400 TRANSFER_TARGET_REQUIRED, PT400 TRANSFER_CROSS_BRANCH, PT400 COUNTER_NOT_MAPPED,
--   PT403 FORBIDDEN (call by an agent), PT403 COUNTER_FORBIDDEN, PT404 TICKET_NOT_FOUND (unknown, other
--   tenant or branch), PT404 SERVICE_NOT_FOUND / COUNTER_NOT_FOUND (transfer or call target),
--   PT409 INVALID_TRANSITION, PT409 WRONG_COUNTER (the ticket is at another counter), PT409 COUNTER_BUSY,
--   PT409 COUNTER_UNAVAILABLE (call at a counter on break/closed), PT409 IDEMPOTENCY_KEY_REUSED.
-- Idempotency: request_id replays the stored ticket, no new event. Audit: transfer and call.
-- Locking: the ticket row (for update), then for call the counter row (for no key update); the change and
--   its event are written by the one writer, qms.advance_ticket (guarded by the status read under the lock).
create or replace function api.ticket_action(
    ticket_id uuid,
    action text,
    counter_id uuid default null,
    request_id uuid default null,
    target_service_id uuid default null,
    target_counter_id uuid default null,
    reason text default null
) returns jsonb
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_action text := lower(btrim(ticket_action.action));
    v_tenant uuid;
    v_replay jsonb;
    v_old qms.tickets;
    v_new qms.tickets;
    v_ticket qms.tickets;
    v_policy jsonb;
    v_event text;
begin
    if v_action is null or not v_action = any (qms.ticket_actions()) then
        perform qms.fail(400, 'INVALID_ACTION', format('unknown action %s', ticket_action.action),
                         'Use one of recall, start, complete, hold, unhold, transfer, cancel, mark_no_show, call.');
    end if;
    if v_action in ('recall', 'start', 'complete', 'mark_no_show', 'call') and ticket_action.counter_id is null then
        perform qms.fail(400, 'COUNTER_REQUIRED', format('%s needs counter_id', v_action),
                         'Send the counter you are working at.');
    end if;
    if v_action = 'transfer' and ticket_action.target_service_id is null and ticket_action.target_counter_id is null then
        perform qms.fail(400, 'TRANSFER_TARGET_REQUIRED', 'transfer needs target_service_id or target_counter_id',
                         'Name the service or the counter the customer goes to.');
    end if;
    if v_action = 'call' then
        perform qms.require_role('qms_supervisor', 'qms_admin');
    end if;
    v_tenant := qms.require_tenant();
    if ticket_action.request_id is not null then
        v_replay := qms.idempotency_begin(ticket_action.request_id, 'ticket_action', jsonb_build_object(
            'ticket_id', ticket_action.ticket_id, 'action', v_action, 'counter_id', ticket_action.counter_id,
            'target_service_id', ticket_action.target_service_id, 'target_counter_id', ticket_action.target_counter_id,
            'reason', ticket_action.reason));
        if v_replay is not null then
            return v_replay;
        end if;
    end if;

    select * into v_old from qms.tickets t
    where t.tenant_id = v_tenant and t.ticket_id = ticket_action.ticket_id for update;
    if not found then
        perform qms.fail(404, 'TICKET_NOT_FOUND', 'ticket not found', 'Check the ticket id.');
    end if;
    -- The policy matters only to mark_no_show (return_to_queue) and cancel (cancel_from).
    if v_action in ('mark_no_show', 'cancel') then
        v_policy := qms.effective_policy(v_tenant, v_old.branch_id, v_old.service_id);
    end if;
    v_event := qms.ticket_action_event(v_action, v_old.status, v_policy);
    if v_event is null then
        perform qms.fail(409, 'INVALID_TRANSITION', format('ticket is %s, cannot %s', v_old.status, v_action),
                         'Reload the ticket and pick an allowed action.');
    end if;
    if v_action in ('recall', 'start', 'complete', 'mark_no_show') then
        if v_old.counter_id is distinct from ticket_action.counter_id then
            perform qms.fail(409, 'WRONG_COUNTER', 'the ticket is at another counter',
                             'Only the counter that called the ticket may act on it.');
        end if;
        perform qms.require_counter_use(v_old.branch_id, ticket_action.counter_id);
    elsif v_action = 'call' then
        perform qms.ticket_call_check_counter(v_old, ticket_action.counter_id);
    end if;
    v_new := qms.ticket_action_apply(v_old, v_action, v_policy, ticket_action.counter_id,
                                     ticket_action.target_service_id, ticket_action.target_counter_id,
                                     ticket_action.reason);

    v_ticket := qms.advance_ticket(v_old, v_new, v_event,
        case when v_action = 'recall' then jsonb_build_object('recalled_at', now())
             when ticket_action.reason is not null and v_action <> 'transfer'
             then jsonb_build_object('reason', ticket_action.reason)
             else '{}'::jsonb end,
        ticket_action.request_id);
    if v_action in ('transfer', 'call') then
        perform qms.audit_write('ticket.' || v_action, 'ticket', v_ticket.ticket_id::text,
                                qms.ticket_json(v_old, false), qms.ticket_json(v_ticket, false));
    end if;
    return qms.idempotency_finish(ticket_action.request_id, qms.ticket_json(v_ticket));
end
$$;
comment on function api.ticket_action(uuid, text, uuid, uuid, uuid, uuid, text) is
    'Act on a ticket: recall start complete hold unhold transfer cancel mark_no_show call; returns the ticket. '
    'PT400 INVALID_ACTION/COUNTER_REQUIRED/TRANSFER_TARGET_REQUIRED, PT403 COUNTER_FORBIDDEN/FORBIDDEN, '
    'PT404 TICKET_NOT_FOUND, PT409 INVALID_TRANSITION/WRONG_COUNTER/COUNTER_BUSY (see docs/engine.md).';
