-- Counter access checks shared by call_next, set_counter_status and ticket_action.

-- qms.require_counter_use: the caller may operate the counter (its branch is in scope and, for an agent
-- with a counter_ids claim, the counter is listed). Errors: PT403 COUNTER_FORBIDDEN. No locks.
create or replace function qms.require_counter_use(p_branch_id uuid, p_counter_id uuid) returns void
    language plpgsql stable
as $$
begin
    if not qms.can_use_counter(p_branch_id, p_counter_id) then
        perform qms.fail(403, 'COUNTER_FORBIDDEN', 'you may not operate this counter',
                         'Use a counter you are assigned to.');
    end if;
end
$$;
comment on function qms.require_counter_use(uuid, uuid) is
    'PT403 COUNTER_FORBIDDEN unless the caller may operate the counter (qms.can_use_counter).';

-- qms.fail_counter_unreachable: called when locking or updating a counter found no row. Row security lets
-- the caller see counters of its branches but change only those it may operate, so a counter that is
-- visible is PT403 COUNTER_FORBIDDEN and one that is not is PT404 COUNTER_NOT_FOUND. Never returns.
create or replace function qms.fail_counter_unreachable(p_tenant_id uuid, p_counter_id uuid) returns void
    language plpgsql stable
as $$
begin
    if exists (select 1 from qms.counters c where c.tenant_id = p_tenant_id and c.counter_id = p_counter_id) then
        perform qms.fail(403, 'COUNTER_FORBIDDEN', 'you may not operate this counter',
                         'Use a counter you are assigned to.');
    end if;
    perform qms.fail(404, 'COUNTER_NOT_FOUND', 'counter not found', 'Pick a counter of your branch.');
end
$$;
comment on function qms.fail_counter_unreachable(uuid, uuid) is
    'After a counter lock/update found nothing: PT403 COUNTER_FORBIDDEN if visible, else PT404 COUNTER_NOT_FOUND.';
