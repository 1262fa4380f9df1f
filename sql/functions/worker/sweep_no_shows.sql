-- worker.sweep_no_shows(max_rows): the auto no-show sweeper (qms_worker; a worker without a tenant claim
--   serves every tenant, RLS qms.tenant_match allows it; with a tenant claim only that tenant).
-- Transition: called -> no_show (event ticket.no_show), or called -> waiting with returned = true, counter
--   cleared and queued again (event ticket.returned) when the effective policy's return_to_queue is on;
--   for tickets called longer ago than the effective policy's called_grace_seconds
--   (qms.effective_policy(tenant, branch, service)). The rule is ticket_action's mark_no_show
--   (qms.ticket_action_apply); the event carries reason called_grace_expired.
-- Returns the number of tickets swept (at most max_rows; call again while it returns max_rows).
-- Errors: PT403 FORBIDDEN (not qms_worker), PT400 INVALID_MAX_ROWS (not 1..10000).
-- Exactly once under concurrency: candidates are locked `for update skip locked` (two sweepers take
--   disjoint rows; the lock re-checks status = 'called' on the newest row version, so a ticket recalled,
--   started or already swept in between is left alone), then changed with its event through the one writer,
--   qms.advance_ticket. Locking: the swept ticket rows, until commit.
create or replace function worker.sweep_no_shows(max_rows integer default 500) returns integer
    language plpgsql
    security invoker
as $$
declare
    v_old qms.tickets;
    v_new qms.tickets;
    v_policy jsonb;
    v_count integer := 0;
begin
    perform qms.require_role('qms_worker');
    perform qms.require_max_rows(sweep_no_shows.max_rows, 10000, 500);
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
        -- The same rule as ticket_action's mark_no_show (qms.ticket_action_apply), through the one writer;
        -- the row is locked and still called, so its change cannot race.
        v_policy := qms.effective_policy(v_old.tenant_id, v_old.branch_id, v_old.service_id);
        v_new := qms.ticket_action_apply(v_old, 'mark_no_show', v_policy, v_old.counter_id, null, null, null);
        perform qms.advance_ticket(
            v_old, v_new, qms.ticket_action_event('mark_no_show', v_old.status, v_policy),
            jsonb_build_object('reason', 'called_grace_expired',
                               'called_grace_seconds', (v_policy ->> 'called_grace_seconds')::integer));
        v_count := v_count + 1;
    end loop;
    return v_count;
end
$$;
comment on function worker.sweep_no_shows(integer) is
    'Auto no-show (qms_worker): called tickets past called_grace_seconds become no_show or return to the queue; '
    'one event each, exactly once under concurrent sweepers. PT400 INVALID_MAX_ROWS, PT403 FORBIDDEN.';
