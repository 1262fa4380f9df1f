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
