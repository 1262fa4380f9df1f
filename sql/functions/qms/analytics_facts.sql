-- Analytics maintained from the event log (docs/adr/0014-analytics-rollups.md).
--
-- qms.analytics_fact_next(old, event) -> the ticket's facts after one event (old: its facts before, or a
--   null row for ticket.created). Reads payload->'changes': service, counter (the last non-null one),
--   priority class, status, served/completed/ended timestamps; the first non-null called_at becomes
--   first_called_at, and the SLA of the service at that call is kept with it; a ticket.transferred event
--   marks the ticket transferred. ticket.created reads the branch's time zone once (bucket_hour = the hour
--   of issue in branch time). Stable (reads qms.branches / qms.services by key), no locks, no errors: a
--   missing value leaves the fact null.
-- qms.tg_ticket_events__analytics(): AFTER INSERT FOR EACH ROW on qms.ticket_events. Upserts the ticket's
--   facts row and appends the change of its rollup contribution to analytics.hourly_rollup_deltas (old
--   contribution negated, new one added, one row per rollup key and wait bucket whose sums moved; nothing
--   when none did).
--   An event of a ticket without facts (issued before analytics existed) is skipped: worker.analytics_rebuild
--   fills those. Security definer (the engine's roles may not write analytics). Locking: the facts row,
--   which only events of the same ticket touch, and the writer already holds that ticket's row lock; the
--   deltas are insert-only, so concurrent commands never wait on each other here.
create or replace function qms.analytics_fact_next(p_old analytics.ticket_facts, p_event qms.ticket_events)
    returns analytics.ticket_facts
    language plpgsql stable
    set search_path = ''
as $$
declare
    c jsonb := coalesce(p_event.payload -> 'changes', '{}'::jsonb);
    v analytics.ticket_facts := p_old;
begin
    if p_old.ticket_id is null then
        if p_event.type <> 'ticket.created' then
            return null;
        end if;
        v.tenant_id := p_event.tenant_id;
        v.ticket_id := p_event.ticket_id;
        v.branch_id := p_event.branch_id;
        v.ticket_number := c ->> 'ticket_number';
        v.channel := c ->> 'channel';
        v.created_at := coalesce((c ->> 'created_at')::timestamptz, p_event.created_at);
        select b.timezone into v.timezone from qms.branches b
        where b.tenant_id = p_event.tenant_id and b.branch_id = p_event.branch_id;
        v.timezone := coalesce(v.timezone, 'UTC');
        v.bucket_hour := pg_catalog.date_trunc('hour', v.created_at at time zone v.timezone);
        v.transferred := false;
    end if;
    v.service_id := p_event.service_id;
    v.counter_id := coalesce(p_event.counter_id, v.counter_id);
    v.priority_class := coalesce(c ->> 'priority_class', v.priority_class);
    v.status := coalesce(c ->> 'status', v.status);
    if c ? 'served_at' then v.served_at := (c ->> 'served_at')::timestamptz; end if;
    if c ? 'completed_at' then v.completed_at := (c ->> 'completed_at')::timestamptz; end if;
    if c ? 'ended_at' then v.ended_at := (c ->> 'ended_at')::timestamptz; end if;
    if v.first_called_at is null and c ->> 'called_at' is not null then
        v.first_called_at := (c ->> 'called_at')::timestamptz;
        select s.sla_minutes * 60 into v.sla_seconds from qms.services s
        where s.tenant_id = p_event.tenant_id and s.service_id = p_event.service_id;
    end if;
    v.transferred := v.transferred or p_event.type = 'ticket.transferred';
    v.last_seq := p_event.seq;
    return v;
end
$$;
comment on function qms.analytics_fact_next(analytics.ticket_facts, qms.ticket_events) is
    'A ticket''s analytics facts after one of its events (null for a non-created event of an unknown ticket).';

create or replace function qms.tg_ticket_events__analytics() returns trigger
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_old analytics.ticket_facts;
    v_new analytics.ticket_facts;
begin
    if new.type <> 'ticket.created' then
        select * into v_old from analytics.ticket_facts f
        where f.tenant_id = new.tenant_id and f.ticket_id = new.ticket_id;
        if not found then
            return null;
        end if;
    end if;
    v_new := qms.analytics_fact_next(v_old, new);
    if v_new.ticket_id is null then
        return null;
    end if;
    if v_old.ticket_id is null then
        insert into analytics.ticket_facts values (v_new.*)
        on conflict (tenant_id, ticket_id) do nothing;
    else
        update analytics.ticket_facts f
           set service_id = v_new.service_id, counter_id = v_new.counter_id, priority_class = v_new.priority_class,
               status = v_new.status, transferred = v_new.transferred, first_called_at = v_new.first_called_at,
               served_at = v_new.served_at, completed_at = v_new.completed_at, ended_at = v_new.ended_at,
               sla_seconds = v_new.sla_seconds, last_seq = v_new.last_seq
         where f.tenant_id = v_new.tenant_id and f.ticket_id = v_new.ticket_id;
    end if;
    insert into analytics.hourly_rollup_deltas (tenant_id, branch_id, bucket_hour, service_id, priority_class,
        channel, counter_id, tickets, served, no_shows, cancelled, transferred, waited, wait_seconds_sum, sla_met,
        service_timed, service_seconds_sum, wait_bucket)
    select d.tenant_id, d.branch_id, d.bucket_hour, d.service_id, d.priority_class, d.channel, d.counter_id,
           sum(d.tickets), sum(d.served), sum(d.no_shows), sum(d.cancelled), sum(d.transferred), sum(d.waited),
           sum(d.wait_seconds_sum), sum(d.sla_met), sum(d.service_timed), sum(d.service_seconds_sum), d.wait_bucket
    from (select o.* from qms.analytics_delta(v_old, -1) o where v_old.ticket_id is not null
          union all
          select n.* from qms.analytics_delta(v_new, 1) n) d
    group by d.tenant_id, d.branch_id, d.bucket_hour, d.service_id, d.priority_class, d.channel, d.counter_id,
             d.wait_bucket
    having sum(d.tickets) <> 0 or sum(d.served) <> 0 or sum(d.no_shows) <> 0 or sum(d.cancelled) <> 0
        or sum(d.transferred) <> 0 or sum(d.waited) <> 0 or sum(d.wait_seconds_sum) <> 0 or sum(d.sla_met) <> 0
        or sum(d.service_timed) <> 0 or sum(d.service_seconds_sum) <> 0;
    return null;
end
$$;
comment on function qms.tg_ticket_events__analytics() is
    'AFTER INSERT on qms.ticket_events: upsert the ticket''s analytics facts and append its rollup delta.';
revoke all on function qms.tg_ticket_events__analytics() from public;
