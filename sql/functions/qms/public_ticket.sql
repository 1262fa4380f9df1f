-- The customer's own ticket, read and cancelled without an account (docs/adr/0007-public-ticket-access.md).
-- The ticket id and its secret (returned once by api.create_ticket inside status_url, stored as sha256) are
-- the only credential: the request carries no tenant. These functions are security definer (the owner reads
-- across tenants by ticket id) and reveal nothing but the public view of that one ticket.
--
-- qms.public_status_url(ticket_id, secret): the relative path of the public status page.
-- qms.public_ticket_json(t): the public view: ticket_id, ticket_number, status, service_name, branch_name,
--   branch_timezone, position, estimated_wait_seconds, counter_name (once called), created_at, called_at,
--   can_cancel, version (the ticket's event count: it grows with every change). No PII, no tenant, branch
--   or service ids. Owner only (called by the definer functions below).
-- qms.public_ticket_find(ticket_id, secret, lock): the one lookup of a ticket by its id and secret, shared
--   by every function of the public page (this file, sql/functions/qms/public_push.sql). PT404
--   TICKET_NOT_FOUND for an unknown ticket or a wrong secret alike. lock = true takes the row `for update`
--   (a change of the ticket); false takes no lock. Owner only (called by the definer functions).
-- qms.public_ticket_view(ticket_id, secret): that view. PT404 TICKET_NOT_FOUND. Stable, no locks.
-- qms.public_ticket_cancel(ticket_id, secret, request_id): the customer cancels their ticket; allowed from
--   the policy's cancel_from (qms.ticket_action_event, the rule of api.ticket_action); event ticket.cancelled
--   with reason "customer" through qms.advance_ticket. Idempotency: a retry with the request_id of the
--   cancelling event returns the view again. Errors: PT404 TICKET_NOT_FOUND, PT409 INVALID_TRANSITION.
--   Locking: the ticket row (for update).
create or replace function qms.public_status_url(p_ticket_id uuid, p_secret text) returns text
    language sql immutable parallel safe
as $$
    select '/apps/public/#t=' || p_ticket_id::text || '.' || p_secret
$$;
comment on function qms.public_status_url(uuid, text) is
    'Relative path of the customer''s public status page for a ticket and its secret.';

-- qms.remember_status_url(ticket_id, url) / qms.issued_status_url(ticket_id): api.create_ticket leaves a new
-- ticket's status_url until commit, so the ticket.created notification (a deferred trigger) can carry the
-- link: the secret is stored only hashed. One transaction-local setting, qms.issued_status_urls, holds a
-- JSON object {ticket_id: status_url} for the tickets issued in the transaction. One fixed name on purpose:
-- every distinct setting name stays in the session's settings table for the connection's life, and
-- PostgreSQL 15 sorts and scans that table on every SET, so a name per ticket made every later command of
-- a pooled connection slower. No errors, no locks.
create or replace function qms.remember_status_url(p_ticket_id uuid, p_url text) returns void
    language plpgsql volatile
as $$
begin
    perform pg_catalog.set_config('qms.issued_status_urls',
        (coalesce(nullif(pg_catalog.current_setting('qms.issued_status_urls', true), ''), '{}')::jsonb
         || pg_catalog.jsonb_build_object(p_ticket_id, p_url))::text, true);
end
$$;
comment on function qms.remember_status_url(uuid, text) is
    'Keep a just-issued ticket''s status_url until commit (for its ticket.created notification).';

create or replace function qms.issued_status_url(p_ticket_id uuid) returns text
    language sql stable
as $$
    select nullif(pg_catalog.current_setting('qms.issued_status_urls', true), '')::jsonb ->> p_ticket_id::text
$$;
comment on function qms.issued_status_url(uuid) is
    'The status_url api.create_ticket issued in this transaction for a ticket, or null.';

create or replace function qms.public_ticket_json(p_ticket qms.tickets) returns jsonb
    language plpgsql stable
as $$
begin
    -- PL/pgSQL: a SQL function with a FROM clause is not inlined and would be planned in every transaction.
    return (
        select jsonb_build_object(
            'ticket_id', p_ticket.ticket_id, 'ticket_number', p_ticket.ticket_number, 'status', p_ticket.status,
            'service_name', s.name, 'branch_name', b.name, 'branch_timezone', b.timezone,
            'counter_name', case when p_ticket.status in ('called', 'serving') then c.name end,
            'created_at', p_ticket.created_at, 'called_at', p_ticket.called_at,
            'can_cancel', qms.ticket_action_event('cancel', p_ticket.status,
                                                  qms.effective_policy(p_ticket.tenant_id, p_ticket.branch_id,
                                                                       p_ticket.service_id)) is not null,
            'version', p_ticket.version)
            || qms.queue_estimate_of(p_ticket)
        from qms.services s
        join qms.branches b on b.tenant_id = s.tenant_id and b.branch_id = s.branch_id
        left join qms.counters c on c.tenant_id = p_ticket.tenant_id and c.counter_id = p_ticket.counter_id
        where s.tenant_id = p_ticket.tenant_id and s.service_id = p_ticket.service_id);
end
$$;
comment on function qms.public_ticket_json(qms.tickets) is
    'The public view of a ticket (no PII, no ids but the ticket''s); owner only.';
revoke all on function qms.public_ticket_json(qms.tickets) from public;

create or replace function qms.public_ticket_find(p_ticket_id uuid, p_secret text, p_lock boolean)
    returns qms.tickets
    language plpgsql
    set search_path = ''
as $$
declare
    v_ticket qms.tickets;
    v_hash bytea := pg_catalog.sha256(pg_catalog.convert_to(p_secret, 'UTF8'));
begin
    if p_lock then
        select * into v_ticket from qms.tickets t
        where t.ticket_id = p_ticket_id and t.access_secret_hash = v_hash
        for update;
    else
        select * into v_ticket from qms.tickets t
        where t.ticket_id = p_ticket_id and t.access_secret_hash = v_hash;
    end if;
    if not found then
        perform qms.fail(404, 'TICKET_NOT_FOUND', 'ticket not found',
                         'Open the link printed on your ticket, or take a new ticket.');
    end if;
    return v_ticket;
end
$$;
comment on function qms.public_ticket_find(uuid, text, boolean) is
    'The ticket of a public page by id and secret (optionally locked for update); PT404 TICKET_NOT_FOUND.';
revoke all on function qms.public_ticket_find(uuid, text, boolean) from public;

create or replace function qms.public_ticket_view(p_ticket_id uuid, p_secret text) returns jsonb
    language plpgsql stable
    security definer
    set search_path = ''
as $$
begin
    return qms.public_ticket_json(qms.public_ticket_find(p_ticket_id, p_secret, false));
end
$$;
comment on function qms.public_ticket_view(uuid, text) is
    'Public view of the ticket whose secret matches; PT404 TICKET_NOT_FOUND otherwise.';
revoke all on function qms.public_ticket_view(uuid, text) from public;
grant execute on function qms.public_ticket_view(uuid, text)
    to qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_analyst;

create or replace function qms.public_ticket_cancel(p_ticket_id uuid, p_secret text, p_request_id uuid)
    returns jsonb
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_old qms.tickets;
    v_policy jsonb;
    v_event text;
begin
    v_old := qms.public_ticket_find(p_ticket_id, p_secret, true);
    if p_request_id is not null and exists (
        select 1 from qms.ticket_events e
        where e.tenant_id = v_old.tenant_id and e.ticket_id = v_old.ticket_id and e.ticket_seq = v_old.event_count
          and e.request_id = p_request_id and e.type = 'ticket.cancelled') then
        return qms.public_ticket_json(v_old);
    end if;
    v_policy := qms.effective_policy(v_old.tenant_id, v_old.branch_id, v_old.service_id);
    v_event := qms.ticket_action_event('cancel', v_old.status, v_policy);
    if v_event is null then
        perform qms.fail(409, 'INVALID_TRANSITION', format('ticket is %s, it can no longer be cancelled', v_old.status),
                         'Ask the staff at the branch.');
    end if;
    return qms.public_ticket_json(qms.advance_ticket(
        v_old, qms.ticket_action_apply(v_old, 'cancel', v_policy, null, null, null, null), v_event,
        '{"reason": "customer"}', p_request_id));
end
$$;
comment on function qms.public_ticket_cancel(uuid, text, uuid) is
    'The customer cancels the ticket whose secret matches; returns the public view. PT404 TICKET_NOT_FOUND, '
    'PT409 INVALID_TRANSITION.';
revoke all on function qms.public_ticket_cancel(uuid, text, uuid) from public;
grant execute on function qms.public_ticket_cancel(uuid, text, uuid) to qms_anon;
