-- The customer's own ticket through its secret (docs/adr/0007-public-ticket-access.md): the status page
-- that a printed ticket's QR code and create_ticket's status_url open. No account: qms_anon may call these.
--
-- api.get_public_ticket(ticket_id, secret) -> {ticket_id, ticket_number, status, service_name, branch_name,
--   branch_timezone, position, estimated_wait_seconds, counter_name (once called), created_at, called_at,
--   can_cancel, version}. No PII, no other ids. Errors: PT404 TICKET_NOT_FOUND (unknown ticket or wrong
--   secret: the same answer). Stable, no locks.
-- api.cancel_public_ticket(ticket_id, secret, request_id) -> the same view after the cancel. Transition:
--   waiting/held (the policy's cancel_from) -> cancelled, event ticket.cancelled with reason "customer".
--   Errors: PT404 TICKET_NOT_FOUND, PT409 INVALID_TRANSITION. Idempotency: a retry with the same
--   request_id returns the view again. Locking: the ticket row.
create or replace function api.get_public_ticket(ticket_id uuid, secret text) returns jsonb
    language sql stable
    security invoker
as $$
    select qms.public_ticket_view(get_public_ticket.ticket_id, get_public_ticket.secret)
$$;
comment on function api.get_public_ticket(uuid, text) is
    'The customer''s view of a ticket through its secret (no PII). PT404 TICKET_NOT_FOUND.';

create or replace function api.cancel_public_ticket(ticket_id uuid, secret text, request_id uuid default null)
    returns jsonb
    language sql
    security invoker
as $$
    select qms.public_ticket_cancel(cancel_public_ticket.ticket_id, cancel_public_ticket.secret,
                                    cancel_public_ticket.request_id)
$$;
comment on function api.cancel_public_ticket(uuid, text, uuid) is
    'The customer cancels their own ticket through its secret; returns the public view. PT404 TICKET_NOT_FOUND, '
    'PT409 INVALID_TRANSITION.';
