-- Folding and verifying a ticket's event log (docs/adr/0005-event-delivery.md).
--
-- qms.jsonb_merge_agg(jsonb): aggregate `||` (right wins), used with ORDER BY ticket_seq.
-- qms.fold_ticket_events(tenant, ticket) -> jsonb: the ticket rebuilt from its events: ticket_id and
--   tenant_id, then payload->'changes' of every event merged in ticket_seq order (ticket.created carries
--   every initial field). Null when the ticket has no event. Stable, no errors, no locks; the caller's RLS
--   applies (it is usable for any ticket the caller can read).
-- qms.ticket_chain_break(tenant, ticket) -> integer: the first ticket_seq where the hash chain is broken,
--   null when intact. Broken means: the stored hash differs from qms.ticket_event_hash(previous stored
--   hash, ...), prev_hash differs from the previous event's hash, a ticket_seq is missing, or the ticket
--   row's event_count / last_event_hash do not point at the last event (a truncated tail breaks at
--   last + 1). Stable, no errors, no locks.
-- qms.verify_ticket_chains(tenant) -> (ticket_id, ok, broken_at) for every ticket of a tenant (DBA,
--   security definer: reads across RLS; not granted to request roles).

create or replace aggregate qms.jsonb_merge_agg(jsonb) (
    sfunc = pg_catalog.jsonb_concat,
    stype = jsonb,
    initcond = '{}'
);
comment on aggregate qms.jsonb_merge_agg(jsonb) is 'Merge jsonb objects in aggregate order (later keys win).';

create or replace function qms.fold_ticket_events(p_tenant_id uuid, p_ticket_id uuid) returns jsonb
    language sql stable
as $$
    select jsonb_build_object('ticket_id', p_ticket_id, 'tenant_id', p_tenant_id)
           || qms.jsonb_merge_agg(coalesce(e.payload -> 'changes', '{}'::jsonb) order by e.ticket_seq)
    from qms.ticket_events e
    where e.tenant_id = p_tenant_id and e.ticket_id = p_ticket_id
    having count(*) > 0
$$;
comment on function qms.fold_ticket_events(uuid, uuid) is
    'A ticket rebuilt from its events (payload->''changes'' merged in ticket_seq order); null without events.';

create or replace function qms.ticket_chain_break(p_tenant_id uuid, p_ticket_id uuid) returns integer
    language sql stable
as $$
    with ordered as (
        select e.ticket_seq, e.hash, e.prev_hash,
               row_number() over (order by e.ticket_seq) as n,
               lag(e.hash) over (order by e.ticket_seq) as real_prev,
               qms.ticket_event_hash(lag(e.hash) over (order by e.ticket_seq), e.tenant_id, e.ticket_id,
                                     e.ticket_seq, e.type, e.payload) as expected
        from qms.ticket_events e
        where e.tenant_id = p_tenant_id and e.ticket_id = p_ticket_id
    ), first_bad as (
        select min(least(o.n::integer, o.ticket_seq)) as at
        from ordered o
        where o.ticket_seq <> o.n or o.hash <> o.expected or o.prev_hash is distinct from o.real_prev
    ), tail as (
        select coalesce(max(o.ticket_seq), 0) as last_seq,
               (array_agg(o.hash order by o.ticket_seq desc))[1] as last_hash
        from ordered o
    )
    select coalesce(
        fb.at,
        case when t.ticket_id is null then null
             when t.event_count <> tl.last_seq then least(t.event_count, tl.last_seq) + 1
             when t.last_event_hash is distinct from tl.last_hash then tl.last_seq end)
    from first_bad fb, tail tl
    left join qms.tickets t on t.tenant_id = p_tenant_id and t.ticket_id = p_ticket_id
$$;
comment on function qms.ticket_chain_break(uuid, uuid) is
    'First ticket_seq where a ticket''s event hash chain is broken (hash, link, gap or ticket row tail); null if intact.';

create or replace function qms.verify_ticket_chains(p_tenant_id uuid)
    returns table (ticket_id uuid, ok boolean, broken_at integer)
    language sql stable
    security definer
    set search_path = ''
as $$
    select t.ticket_id, b.at is null, b.at
    from qms.tickets t
    cross join lateral (select qms.ticket_chain_break(t.tenant_id, t.ticket_id) as at) b
    where t.tenant_id = p_tenant_id
    order by t.created_at, t.ticket_id
$$;
comment on function qms.verify_ticket_chains(uuid) is
    'Verify the event hash chain of every ticket of a tenant (DBA): ticket_id, ok, broken_at.';
revoke all on function qms.verify_ticket_chains(uuid) from public;
