-- api.display_snapshot(branch_id, area_id default null, last_n default 10): what a display board shows.
--   {as_of_seq, branch_id, area_id, generated_at,
--    now_calling: [{ticket_id, ticket_number, counter_id, counter_name, service_id, called_at, status}],
--    recent: [the last_n tickets called (called, serving or done; business days today and yesterday in branch
--             time), newest call first, same fields],
--    counters: {counter_id: name} of every counter of the branch (a board names a call from a live event)}
--   now_calling = tickets called or being served, newest call first. With area_id: the tickets whose display
--   area (qms.display_area_id: the counter's area, else the ticket's) is that area, as live events are routed.
--   PII-free (no contact data, no secrets). as_of_seq as in api.queue_snapshot.
-- Transition: none (read). Errors: PT401 TENANT_REQUIRED, PT403 FORBIDDEN (device, agent, supervisor, admin),
--   PT404 BRANCH_NOT_FOUND (unknown or outside the caller's branches: a device sees its branch only),
--   PT404 AREA_NOT_FOUND, PT400 INVALID_LAST_N (not 1..100). Idempotent, stable, no locks. Security invoker.
create or replace function api.display_snapshot(branch_id uuid, area_id uuid default null, last_n integer default 10)
    returns jsonb
    language plpgsql stable
    security invoker
as $$
declare
    v_tenant uuid;
    v_today date;
begin
    perform qms.require_role('qms_device', 'qms_agent', 'qms_supervisor', 'qms_admin');
    v_tenant := qms.require_tenant();
    if display_snapshot.last_n is null or display_snapshot.last_n not between 1 and 100 then
        perform qms.fail(400, 'INVALID_LAST_N', 'last_n must be between 1 and 100', 'Pass e.g. last_n => 10.');
    end if;
    select (now() at time zone b.timezone)::date into v_today from qms.branches b
    where b.tenant_id = v_tenant and b.branch_id = display_snapshot.branch_id;
    if not found then
        perform qms.fail(404, 'BRANCH_NOT_FOUND', 'branch not found', 'Pick a branch of your tenant and scope.');
    end if;
    if display_snapshot.area_id is not null
       and not exists (select 1 from qms.areas a
                       where a.tenant_id = v_tenant and a.area_id = display_snapshot.area_id
                         and a.branch_id = display_snapshot.branch_id) then
        perform qms.fail(404, 'AREA_NOT_FOUND', 'area not found in this branch', 'Pick an area of the branch.');
    end if;
    return (
        with board as (
            select t.ticket_id, t.ticket_number, t.counter_id, c.name as counter_name, t.service_id,
                   t.called_at, t.status
            from qms.tickets t
            left join qms.counters c on c.tenant_id = t.tenant_id and c.counter_id = t.counter_id
            where t.tenant_id = v_tenant and t.branch_id = display_snapshot.branch_id
              and t.business_date >= v_today - 1 and t.called_at is not null
              and t.status in ('called', 'serving', 'done')
              and (display_snapshot.area_id is null
                   or qms.display_area_id(t.tenant_id, t.counter_id, t.area_id) = display_snapshot.area_id)
        )
        select jsonb_build_object(
            'as_of_seq', qms.event_watermark(),
            'branch_id', display_snapshot.branch_id,
            'area_id', display_snapshot.area_id,
            'generated_at', now(),
            'now_calling', coalesce((select jsonb_agg(to_jsonb(b) order by b.called_at desc)
                                     from board b where b.status in ('called', 'serving')), '[]'::jsonb),
            'recent', coalesce((select jsonb_agg(to_jsonb(r) order by r.called_at desc)
                                from (select * from board b order by b.called_at desc
                                      limit display_snapshot.last_n) r), '[]'::jsonb),
            'counters', coalesce((select jsonb_object_agg(c.counter_id, c.name) from qms.counters c
                                  where c.tenant_id = v_tenant and c.branch_id = display_snapshot.branch_id),
                                 '{}'::jsonb)));
end
$$;
comment on function api.display_snapshot(uuid, uuid, integer) is
    'Display board state of a branch/area (now calling, last_n recent calls, counter names), PII-free, with '
    'as_of_seq; the area rule is qms.display_area_id. '
    'PT404 BRANCH_NOT_FOUND/AREA_NOT_FOUND, PT400 INVALID_LAST_N, PT403 FORBIDDEN.';
