-- The ticket event log writer: the ONE way a ticket changes (docs/engine.md#events). Every engine command
-- (create_ticket, call_next, ticket_action, the public cancel) and the no-show sweeper go through
-- qms.advance_ticket; nothing else inserts into qms.ticket_events or writes a ticket's state columns.
--
-- qms.ticket_event_hash(prev_hash, tenant, ticket, ticket_seq, type, payload): the canonical hash of an event,
--   sha256(coalesce(prev_hash, '') || convert_to(jsonb_build_object('tenant_id', 'ticket_id', 'ticket_seq',
--          'type', 'payload')::text, 'UTF8'))
--   (jsonb text output is canonical: keys sorted, no insignificant whitespace). Verifiers recompute with it.
-- qms.ticket_event_columns(): the ticket columns an event's payload->'changes' may carry. Bookkeeping
--   (tenant_id, ticket_id, version, event_count, last_event_hash), secrets (access_secret_hash) and generated
--   columns (priority_rank) are never in events.
-- qms.ticket_changes(old, new): the changed event columns as {column: new value}; every event column when
--   old is null (ticket.created).
--
-- qms.advance_ticket(p_old, p_new, p_type, p_extra, p_request_id) -> the ticket row as stored.
--   p_old: the ticket as read under its row lock (for update / skip locked), or a null row to create p_new.
--   p_new: the ticket as the command leaves it (state columns only; bookkeeping is computed here).
--   Payload = {"changes": ticket_changes(old, new)} || p_extra; ticket_seq = old event_count + 1;
--   hash = ticket_event_hash(old last_event_hash, ...). Create: inserts the ticket row (already carrying
--   event_count = version = 1 and the event's hash), then the event. Change: inserts the event first (its
--   foreign-key check key-share-locks the row version this transaction already holds), then one guarded
--   update of the state columns and the bookkeeping (where status and event_count are still old's).
--   The columns fixed at issue (branch, number, business date, channel, created_at) are never updated.
--   Actor = {sub, role} from the claims.
--   Errors: PT409 EVENT_CHAIN_CONFLICT when the row moved (the caller did not hold its lock);
--   42501 when RLS refuses the ticket or the event (outside the caller's tenant or branches).
--   Never pg_notify: delivery is the relay tailing the log by seq (docs/adr/0005-event-delivery.md).
--   Locking: none beyond the caller's ticket row lock (and the new row on create).

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
    language plpgsql stable parallel safe
as $$
begin
    -- One expression over the event columns, written out: the generic form (to_jsonb of both rows, then
    -- jsonb_each and a lookup per key) cost about a third of a ticket command's CPU. The list is
    -- qms.ticket_event_columns(); sql/tests/events_read.sql checks that both name the same columns.
    return pg_catalog.jsonb_build_object(
        'branch_id', p_new.branch_id, 'service_id', p_new.service_id, 'area_id', p_new.area_id,
        'counter_id', p_new.counter_id, 'ticket_number', p_new.ticket_number, 'number_seq', p_new.number_seq,
        'business_date', p_new.business_date, 'status', p_new.status, 'channel', p_new.channel,
        'priority_class', p_new.priority_class, 'returned', p_new.returned, 'transfer_note', p_new.transfer_note,
        'target_counter_id', p_new.target_counter_id, 'queued_at', p_new.queued_at, 'created_at', p_new.created_at,
        'called_at', p_new.called_at, 'served_at', p_new.served_at, 'completed_at', p_new.completed_at,
        'ended_at', p_new.ended_at)
        - case when p_old.ticket_id is null then '{}'::text[] else pg_catalog.array_remove(array[
            case when p_new.branch_id is not distinct from p_old.branch_id then 'branch_id' end,
            case when p_new.service_id is not distinct from p_old.service_id then 'service_id' end,
            case when p_new.area_id is not distinct from p_old.area_id then 'area_id' end,
            case when p_new.counter_id is not distinct from p_old.counter_id then 'counter_id' end,
            case when p_new.ticket_number is not distinct from p_old.ticket_number then 'ticket_number' end,
            case when p_new.number_seq is not distinct from p_old.number_seq then 'number_seq' end,
            case when p_new.business_date is not distinct from p_old.business_date then 'business_date' end,
            case when p_new.status is not distinct from p_old.status then 'status' end,
            case when p_new.channel is not distinct from p_old.channel then 'channel' end,
            case when p_new.priority_class is not distinct from p_old.priority_class then 'priority_class' end,
            case when p_new.returned is not distinct from p_old.returned then 'returned' end,
            case when p_new.transfer_note is not distinct from p_old.transfer_note then 'transfer_note' end,
            case when p_new.target_counter_id is not distinct from p_old.target_counter_id then 'target_counter_id' end,
            case when p_new.queued_at is not distinct from p_old.queued_at then 'queued_at' end,
            case when p_new.created_at is not distinct from p_old.created_at then 'created_at' end,
            case when p_new.called_at is not distinct from p_old.called_at then 'called_at' end,
            case when p_new.served_at is not distinct from p_old.served_at then 'served_at' end,
            case when p_new.completed_at is not distinct from p_old.completed_at then 'completed_at' end,
            case when p_new.ended_at is not distinct from p_old.ended_at then 'ended_at' end], null) end;
end
$$;
comment on function qms.ticket_changes(qms.tickets, qms.tickets) is
    'Event columns whose value differs between two versions of a ticket, as {column: new value}; '
    'with a null old row, every event column (ticket.created).';

create or replace function qms.advance_ticket(
    p_old qms.tickets,
    p_new qms.tickets,
    p_type text,
    p_extra jsonb default '{}',
    p_request_id uuid default null
) returns qms.tickets
    language plpgsql
as $$
declare
    v_seq integer := coalesce(p_old.event_count, 0) + 1;
    v_payload jsonb := jsonb_build_object('changes', qms.ticket_changes(p_old, p_new)) || coalesce(p_extra, '{}');
    v_hash bytea := qms.ticket_event_hash(p_old.last_event_hash, p_new.tenant_id, p_new.ticket_id, v_seq, p_type,
                                          v_payload);
    v_row qms.tickets;
begin
    if p_old.ticket_id is null then
        insert into qms.tickets (tenant_id, ticket_id, branch_id, service_id, area_id, counter_id, ticket_number,
                                 number_seq, business_date, status, channel, priority_class, returned, transfer_note,
                                 target_counter_id, queued_at, created_at, called_at, served_at, completed_at,
                                 ended_at, access_secret_hash, version, event_count, last_event_hash)
        values (p_new.tenant_id, p_new.ticket_id, p_new.branch_id, p_new.service_id, p_new.area_id, p_new.counter_id,
                p_new.ticket_number, p_new.number_seq, p_new.business_date, p_new.status, p_new.channel,
                p_new.priority_class, p_new.returned, p_new.transfer_note, p_new.target_counter_id, p_new.queued_at,
                p_new.created_at, p_new.called_at, p_new.served_at, p_new.completed_at, p_new.ended_at,
                p_new.access_secret_hash, v_seq, v_seq, v_hash)
        returning * into v_row;
    end if;
    insert into qms.ticket_events (tenant_id, ticket_id, ticket_seq, branch_id, service_id, counter_id, type,
                                   payload, actor, request_id, prev_hash, hash)
    values (p_new.tenant_id, p_new.ticket_id, v_seq, p_new.branch_id, p_new.service_id, p_new.counter_id, p_type,
            v_payload, jsonb_build_object('sub', qms.current_sub(), 'role', qms.current_role_name()),
            p_request_id, p_old.last_event_hash, v_hash);
    if p_old.ticket_id is not null then
        update qms.tickets t
           set service_id = p_new.service_id, area_id = p_new.area_id, counter_id = p_new.counter_id,
               status = p_new.status, priority_class = p_new.priority_class, returned = p_new.returned,
               transfer_note = p_new.transfer_note, target_counter_id = p_new.target_counter_id,
               queued_at = p_new.queued_at, called_at = p_new.called_at, served_at = p_new.served_at,
               completed_at = p_new.completed_at, ended_at = p_new.ended_at,
               event_count = v_seq, version = v_seq, last_event_hash = v_hash
         where t.tenant_id = p_old.tenant_id and t.ticket_id = p_old.ticket_id and t.status = p_old.status
           and t.event_count = p_old.event_count
        returning * into v_row;
        if not found then
            perform qms.fail(409, 'EVENT_CHAIN_CONFLICT', 'the ticket changed while its event was written',
                             'Retry the command.');
        end if;
    end if;
    return v_row;
end
$$;
comment on function qms.advance_ticket(qms.tickets, qms.tickets, text, jsonb, uuid) is
    'The one ticket writer: append the hash-chained event of old -> new (or create new) and store the row; '
    'returns it. PT409 EVENT_CHAIN_CONFLICT when the locked row moved.';
revoke all on function qms.advance_ticket(qms.tickets, qms.tickets, text, jsonb, uuid) from public;
grant execute on function qms.advance_ticket(qms.tickets, qms.tickets, text, jsonb, uuid)
    to qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker;
