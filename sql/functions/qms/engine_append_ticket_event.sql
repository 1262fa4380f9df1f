-- The ticket event log writer: the ONE way a ticket event is appended (engine commands, no-show sweeper).
--
-- qms.ticket_event_hash: the canonical hash of an event,
--   sha256(coalesce(prev_hash, '') || convert_to(jsonb_build_object('tenant_id', 'ticket_id', 'ticket_seq',
--          'type', 'payload')::text, 'UTF8'))
-- (jsonb text output is canonical: keys sorted, no insignificant whitespace). Verifiers recompute with it.
--
-- qms.ticket_event_columns: the ticket columns an event's payload->'changes' may carry. Bookkeeping
-- (tenant_id, ticket_id, version, event_count, last_event_hash), secrets (access_secret_hash) and generated
-- columns (priority_rank) are never in events.
--
-- qms.ticket_changes(old, new): the changed event columns of a ticket as {column: new value}.
--
-- qms.append_ticket_event(p_ticket, p_type, p_changes, p_extra, p_request_id) -> seq
--   p_ticket is the ticket row AFTER the change it records, whose event_count / last_event_hash still
--   describe the previous event (the caller's update leaves them alone). Inserts the event with
--   ticket_seq = event_count + 1, prev_hash = last_event_hash, payload = {"changes": p_changes} || p_extra,
--   actor = {sub, role} from the claims, then advances the ticket's event_count, version (= ticket_seq) and
--   last_event_hash with a guarded update (where event_count = p_ticket.event_count).
--   Security invoker: RLS on qms.ticket_events keeps the insert in the caller's tenant and branches; the
--   counters are advanced by qms.ticket_event_advance (definer, so a kiosk device can issue tickets).
--   Errors: PT409 EVENT_CHAIN_CONFLICT when the ticket's event_count moved (the caller did not lock the row);
--   42501 when RLS refuses the event (ticket outside the caller's scope).
--   Locking: the caller holds the ticket row lock (for update); the helper only updates that row.
--   Never pg_notify: delivery is a relay tailing the log by seq (engine-events).
--
-- qms.write_ticket_event(p_ticket, p_prev_hash, p_type, p_payload, p_request_id) -> seq: the engine's fast
--   path (docs/engine.md#events). The caller writes the change AND the bookkeeping in one guarded update
--   (just before or after this call, under its ticket row lock) (event_count = old + 1, version = event_count, last_event_hash = qms.ticket_event_hash(
--   old last_event_hash, ..., old event_count + 1, type, payload)); p_ticket is the row that update returned
--   (or the row it is about to write; for a new ticket the inserted row, event_count = 1). This only inserts the event row with ticket_seq =
--   p_ticket.event_count, prev_hash = p_prev_hash and hash = p_ticket.last_event_hash, so a ticket row is
--   written once per command instead of twice. Security invoker: RLS on qms.ticket_events keeps the insert in
--   the caller's tenant and branches. Errors: 23505 when the ticket_seq exists (the caller did not lock the
--   row), 42501 when RLS refuses the event. Locking: none beyond the caller's ticket row lock.

create or replace function qms.ticket_event_hash(p_prev_hash bytea, p_tenant_id uuid, p_ticket_id uuid,
                                                 p_ticket_seq integer, p_type text, p_payload jsonb)
    returns bytea
    language sql stable parallel safe
as $$
    -- stable, not immutable: jsonb_build_object is stable, and an immutable SQL function whose body is not
    -- is never inlined (it was planned on every call).
    select pg_catalog.sha256(coalesce(p_prev_hash, ''::bytea) || pg_catalog.convert_to(
        pg_catalog.jsonb_build_object('tenant_id', p_tenant_id, 'ticket_id', p_ticket_id,
                                      'ticket_seq', p_ticket_seq, 'type', p_type, 'payload', p_payload)::text,
        'UTF8'))
$$;
comment on function qms.ticket_event_hash(bytea, uuid, uuid, integer, text, jsonb) is
    'Hash of a ticket event: sha256(prev_hash || canonical {tenant_id, ticket_id, ticket_seq, type, payload}).';

create or replace function qms.ticket_event_columns() returns text[]
    language sql immutable parallel safe
as $$
    select array['branch_id', 'service_id', 'area_id', 'counter_id', 'ticket_number', 'number_seq',
                 'business_date', 'status', 'channel', 'priority_class', 'returned', 'transfer_note',
                 'target_counter_id', 'queued_at', 'created_at', 'called_at', 'served_at', 'completed_at',
                 'ended_at']
$$;
comment on function qms.ticket_event_columns() is
    'Ticket columns carried by payload->''changes'' of ticket events (folding them rebuilds the ticket).';

create or replace function qms.ticket_changes(p_old qms.tickets, p_new qms.tickets) returns jsonb
    language plpgsql immutable parallel safe
as $$
declare
    v_old jsonb := case when p_old.ticket_id is null then '{}'::jsonb else to_jsonb(p_old) end;
    v_new jsonb := to_jsonb(p_new);
    v_changes jsonb := '{}';
    v_key text;
begin
    foreach v_key in array qms.ticket_event_columns() loop
        if p_old.ticket_id is null or (v_new -> v_key) is distinct from (v_old -> v_key) then
            v_changes := v_changes || jsonb_build_object(v_key, v_new -> v_key);
        end if;
    end loop;
    return v_changes;
end
$$;
comment on function qms.ticket_changes(qms.tickets, qms.tickets) is
    'Event columns whose value differs between two versions of a ticket, as {column: new value}; '
    'with a null old row, every event column (ticket.created).';

-- qms.ticket_event_advance: moves a ticket's event_count / version / last_event_hash onto an event that
-- exists. Security definer so a kiosk device (insert-only on tickets) can issue tickets; it cannot forge
-- anything: it only advances a ticket by one step onto the hash of its event row at that ticket_seq.
create or replace function qms.ticket_event_advance(p_tenant_id uuid, p_ticket_id uuid, p_from_count integer,
                                                    p_hash bytea)
    returns boolean
    language plpgsql
    security definer
    set search_path = ''
as $$
begin
    update qms.tickets t
       set event_count = p_from_count + 1, version = p_from_count + 1, last_event_hash = p_hash
     where t.tenant_id = p_tenant_id and t.ticket_id = p_ticket_id and t.event_count = p_from_count
       and exists (select 1 from qms.ticket_events e
                   where e.tenant_id = p_tenant_id and e.ticket_id = p_ticket_id
                     and e.ticket_seq = p_from_count + 1 and e.hash = p_hash);
    return found;
end
$$;
comment on function qms.ticket_event_advance(uuid, uuid, integer, bytea) is
    'Advance a ticket''s event_count/version/last_event_hash onto its existing event at event_count + 1.';
revoke all on function qms.ticket_event_advance(uuid, uuid, integer, bytea) from public;
grant execute on function qms.ticket_event_advance(uuid, uuid, integer, bytea)
    to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker;

create or replace function qms.append_ticket_event(
    p_ticket qms.tickets,
    p_type text,
    p_changes jsonb,
    p_extra jsonb default '{}',
    p_request_id uuid default null
) returns bigint
    language plpgsql
as $$
declare
    v_ticket_seq integer := p_ticket.event_count + 1;
    v_payload jsonb := jsonb_build_object('changes', coalesce(p_changes, '{}'::jsonb))
                       || coalesce(p_extra, '{}'::jsonb);
    v_hash bytea;
    v_seq bigint;
begin
    v_hash := qms.ticket_event_hash(p_ticket.last_event_hash, p_ticket.tenant_id, p_ticket.ticket_id,
                                    v_ticket_seq, p_type, v_payload);
    -- RLS on ticket_events (row_visible) keeps the insert inside the caller's tenant and branches.
    insert into qms.ticket_events (tenant_id, ticket_id, ticket_seq, branch_id, service_id, counter_id, type,
                                   payload, actor, request_id, prev_hash, hash)
    values (p_ticket.tenant_id, p_ticket.ticket_id, v_ticket_seq, p_ticket.branch_id, p_ticket.service_id,
            p_ticket.counter_id, p_type, v_payload,
            jsonb_build_object('sub', qms.current_sub(), 'role', qms.current_role_name()),
            p_request_id, p_ticket.last_event_hash, v_hash)
    returning seq into v_seq;
    if not qms.ticket_event_advance(p_ticket.tenant_id, p_ticket.ticket_id, p_ticket.event_count, v_hash) then
        perform qms.fail(409, 'EVENT_CHAIN_CONFLICT', 'the ticket changed while its event was written',
                         'Lock the ticket row (for update) before changing it and appending its event.');
    end if;
    return v_seq;
end
$$;
comment on function qms.append_ticket_event(qms.tickets, text, jsonb, jsonb, uuid) is
    'Append one hash-chained event for a ticket (p_ticket = row after the change, event_count not yet '
    'advanced) and advance its event_count/version/last_event_hash; returns the global seq. '
    'PT409 EVENT_CHAIN_CONFLICT when the ticket''s event_count moved.';
revoke all on function qms.append_ticket_event(qms.tickets, text, jsonb, jsonb, uuid) from public;
grant execute on function qms.append_ticket_event(qms.tickets, text, jsonb, jsonb, uuid)
    to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker;

create or replace function qms.write_ticket_event(
    p_ticket qms.tickets,
    p_prev_hash bytea,
    p_type text,
    p_payload jsonb,
    p_request_id uuid default null
) returns bigint
    language plpgsql
as $$
declare
    v_seq bigint;
begin
    insert into qms.ticket_events (tenant_id, ticket_id, ticket_seq, branch_id, service_id, counter_id, type,
                                   payload, actor, request_id, prev_hash, hash)
    values (p_ticket.tenant_id, p_ticket.ticket_id, p_ticket.event_count, p_ticket.branch_id, p_ticket.service_id,
            p_ticket.counter_id, p_type, p_payload,
            jsonb_build_object('sub', qms.current_sub(), 'role', qms.current_role_name()),
            p_request_id, p_prev_hash, p_ticket.last_event_hash)
    returning seq into v_seq;
    return v_seq;
end
$$;
comment on function qms.write_ticket_event(qms.tickets, bytea, text, jsonb, uuid) is
    'Insert the event a ticket''s single guarded update already advanced to (ticket_seq = event_count, '
    'hash = last_event_hash); returns the global seq.';
revoke all on function qms.write_ticket_event(qms.tickets, bytea, text, jsonb, uuid) from public;
grant execute on function qms.write_ticket_event(qms.tickets, bytea, text, jsonb, uuid)
    to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker;
