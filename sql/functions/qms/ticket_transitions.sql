-- The ticket state machine as data (docs/engine.md): one row per allowed (action, from_status, to_status).
-- Anything not listed is PT409 INVALID_TRANSITION. Two rows need a policy on top:
--   cancel       lists every state a policy may allow; the effective policy's cancel_from narrows it
--                (default ["waiting", "held"]).
--   mark_no_show goes to no_show, or back to waiting (returned = true) when the policy's return_to_queue is on.
-- Immutable, no errors, no locks.
create or replace function qms.ticket_transitions()
    returns table (action text, from_status qms.ticket_status, to_status qms.ticket_status, event_type text)
    language sql immutable parallel safe
as $$
    values
        ('call_next',    'waiting'::qms.ticket_status, 'called'::qms.ticket_status,    'ticket.called'),
        ('call',         'waiting',                    'called',                       'ticket.called'),
        ('recall',       'called',                     'called',                       'ticket.recalled'),
        ('start',        'called',                     'serving',                      'ticket.serving'),
        ('complete',     'serving',                    'done',                         'ticket.done'),
        ('hold',         'waiting',                    'held',                         'ticket.held'),
        ('unhold',       'held',                       'waiting',                      'ticket.unheld'),
        ('cancel',       'waiting',                    'cancelled',                    'ticket.cancelled'),
        ('cancel',       'held',                       'cancelled',                    'ticket.cancelled'),
        ('cancel',       'called',                     'cancelled',                    'ticket.cancelled'),
        ('cancel',       'serving',                    'cancelled',                    'ticket.cancelled'),
        ('mark_no_show', 'called',                     'no_show',                      'ticket.no_show'),
        ('mark_no_show', 'called',                     'waiting',                      'ticket.returned'),
        ('transfer',     'waiting',                    'waiting',                      'ticket.transferred'),
        ('transfer',     'called',                     'waiting',                      'ticket.transferred'),
        ('transfer',     'serving',                    'waiting',                      'ticket.transferred')
$$;
comment on function qms.ticket_transitions() is
    'The allowed ticket transitions (action, from_status, to_status, event_type): the state machine as data.';

create or replace function qms.ticket_transition_event(p_action text, p_from qms.ticket_status,
                                                       p_to qms.ticket_status)
    returns text
    language plpgsql immutable parallel safe
as $$
begin
    -- PL/pgSQL so the look-up's plan is cached (a SQL function with a FROM clause is planned on every call).
    return (select t.event_type from qms.ticket_transitions() t
            where t.action = p_action and t.from_status = p_from and t.to_status = p_to);
end
$$;
comment on function qms.ticket_transition_event(text, qms.ticket_status, qms.ticket_status) is
    'Event type of an allowed transition, null when (action, from, to) is not allowed.';

create or replace function qms.ticket_actions() returns text[]
    language sql immutable parallel safe
as $$
    select array['recall', 'start', 'complete', 'hold', 'unhold', 'transfer', 'cancel', 'mark_no_show', 'call']
$$;
comment on function qms.ticket_actions() is 'Actions accepted by api.ticket_action.';

-- qms.ticket_action_event(action, from, policy): the event type of an action on a ticket in state `from`
-- under the effective policy, or null when the action is not allowed there. The one place of the
-- transition rule for api.ticket_action and the customer's own cancel (qms.public_ticket_cancel): the target
-- state of mark_no_show follows return_to_queue, and cancel is allowed only from the policy's cancel_from.
-- Stable, no errors, no locks.
create or replace function qms.ticket_action_event(p_action text, p_from qms.ticket_status, p_policy jsonb)
    returns text
    language sql stable parallel safe
as $$
    select case when p_action = 'cancel' and not coalesce(p_policy -> 'cancel_from' ? p_from::text, false) then null
                else qms.ticket_transition_event(p_action, p_from, case p_action
                    when 'recall' then 'called' when 'start' then 'serving' when 'complete' then 'done'
                    when 'hold' then 'held' when 'unhold' then 'waiting' when 'cancel' then 'cancelled'
                    when 'transfer' then 'waiting' when 'call' then 'called'
                    when 'mark_no_show' then case when (p_policy ->> 'return_to_queue')::boolean then 'waiting'
                                                  else 'no_show' end
                    end::qms.ticket_status) end
$$;
comment on function qms.ticket_action_event(text, qms.ticket_status, jsonb) is
    'Event type of an action from a state under a policy (cancel_from, return_to_queue); null when not allowed.';
