-- api.sweep_no_shows(max_rows): the auto no-show sweeper (qms_worker; a worker without a tenant claim
--   serves every tenant, RLS qms.tenant_match allows it; with a tenant claim only that tenant).
-- Transition: called -> no_show (event ticket.no_show), or called -> waiting with returned = true, counter
--   cleared and queued at now() (event ticket.returned) when the effective policy's return_to_queue is on;
--   for tickets called longer ago than the effective policy's called_grace_seconds
--   (qms.effective_policy(tenant, branch, service)). Same result as ticket_action(..., 'mark_no_show').
-- Returns the number of tickets swept (at most max_rows; call again while it returns max_rows).
-- Errors: PT403 FORBIDDEN (not qms_worker), PT400 INVALID_MAX_ROWS (not 1..10000).
-- Exactly once under concurrency: candidates are locked `for update skip locked` (two sweepers take
--   disjoint rows) and changed by a guarded update `where status = 'called' and called_at = <value read>`
--   (a ticket recalled, started or already swept in between is left alone), then one event each through
--   qms.append_ticket_event. Locking: the swept ticket rows, until commit.
create or replace function api.sweep_no_shows(max_rows integer default 500) returns integer
    language plpgsql
    security invoker
as $$
declare
    v_old qms.tickets;
    v_new qms.tickets;
    v_policy jsonb;
    v_return boolean;
    v_count integer := 0;
begin
    perform qms.require_role('qms_worker');
    if sweep_no_shows.max_rows is null or sweep_no_shows.max_rows not between 1 and 10000 then
        perform qms.fail(400, 'INVALID_MAX_ROWS', 'max_rows must be between 1 and 10000', 'Pass e.g. max_rows => 500.');
    end if;
    for v_old in
        select t.*
        from qms.tickets t
        where t.status = 'called'
          and t.called_at <= now() - make_interval(secs => coalesce(
                (qms.effective_policy(t.tenant_id, t.branch_id, t.service_id) ->> 'called_grace_seconds')::integer,
                120))
        order by t.called_at
        limit sweep_no_shows.max_rows
        for update of t skip locked
    loop
        v_policy := qms.effective_policy(v_old.tenant_id, v_old.branch_id, v_old.service_id);
        v_return := coalesce((v_policy ->> 'return_to_queue')::boolean, false);
        if v_return then
            update qms.tickets t
               set status = 'waiting', returned = true, counter_id = null, called_at = null, queued_at = now()
             where t.tenant_id = v_old.tenant_id and t.ticket_id = v_old.ticket_id
               and t.status = 'called' and t.called_at = v_old.called_at
            returning t.* into v_new;
        else
            update qms.tickets t
               set status = 'no_show', ended_at = now()
             where t.tenant_id = v_old.tenant_id and t.ticket_id = v_old.ticket_id
               and t.status = 'called' and t.called_at = v_old.called_at
            returning t.* into v_new;
        end if;
        continue when not found;
        perform qms.append_ticket_event(
            v_new, case when v_return then 'ticket.returned' else 'ticket.no_show' end,
            qms.ticket_changes(v_old, v_new),
            jsonb_build_object('reason', 'called_grace_expired',
                               'called_grace_seconds', (v_policy ->> 'called_grace_seconds')::integer));
        v_count := v_count + 1;
    end loop;
    return v_count;
end
$$;
comment on function api.sweep_no_shows(integer) is
    'Auto no-show (qms_worker): called tickets past called_grace_seconds become no_show or return to the queue; '
    'one event each, exactly once under concurrent sweepers. PT400 INVALID_MAX_ROWS, PT403 FORBIDDEN.';
