-- audit.log writer. security definer so every role can append without holding insert rights on the
-- table; the actor comes from the request claims, never from a parameter, so it cannot be forged.
-- Locking: the tenant's chain head row (for update) serialises audit writes per tenant, so the hash
-- chain never forks. hash = sha256(prev_hash || canonical row text).
create or replace function qms.audit_write(
    p_action text,
    p_target_type text,
    p_target_id text,
    p_before jsonb default null,
    p_after jsonb default null
) returns bigint
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_tenant uuid := qms.require_tenant();
    v_head audit.chain_heads;
    v_seq bigint;
    v_hash bytea;
    v_row jsonb;
begin
    insert into audit.chain_heads (tenant_id) values (v_tenant) on conflict (tenant_id) do nothing;
    select * into strict v_head from audit.chain_heads where tenant_id = v_tenant for update;
    v_seq := v_head.last_seq + 1;
    v_row := jsonb_build_object(
        'seq', v_seq, 'actor_sub', qms.current_sub(), 'actor_role', qms.current_role_name(),
        'action', p_action, 'target_type', p_target_type, 'target_id', p_target_id,
        'before', p_before, 'after', p_after);
    v_hash := pg_catalog.sha256(coalesce(v_head.last_hash, ''::bytea)
                                || pg_catalog.convert_to(v_row::text, 'UTF8'));
    insert into audit.log (tenant_id, seq, actor_sub, actor_role, action, target_type, target_id,
                           before, after, ip, user_agent, request_id, prev_hash, hash)
    values (v_tenant, v_seq, qms.current_sub(), qms.current_role_name(), p_action, p_target_type,
            p_target_id, p_before, p_after,
            coalesce(qms.request_header('x-forwarded-for'), qms.request_header('x-real-ip')),
            qms.request_header('user-agent'),
            coalesce(qms.request_header('x-request-id'), nullif(current_setting('request.id', true), '')),
            v_head.last_hash, v_hash);
    update audit.chain_heads set last_seq = v_seq, last_hash = v_hash where tenant_id = v_tenant;
    return v_seq;
end
$$;
comment on function qms.audit_write(text, text, text, jsonb, jsonb) is
    'Append one audit.log row for the current tenant and actor (claims), hash-chained per tenant. '
    'Raises PT401 TENANT_REQUIRED without a tenant claim.';

create or replace function qms.tg_append_only__refuse() returns trigger
    language plpgsql
as $$
begin
    raise exception '% is append-only', tg_table_schema || '.' || tg_table_name using errcode = 'PT405', detail = 'APPEND_ONLY',
        hint = 'Rows of an append-only log are never changed or deleted.';
end
$$;
comment on function qms.tg_append_only__refuse() is 'Refuses UPDATE and DELETE on append-only tables.';

create or replace function audit.verify_chain(p_tenant_id uuid) returns table (seq bigint, ok boolean)
    language sql stable
    security definer
    set search_path = ''
as $$
    with ordered as (
        select l.seq, l.prev_hash, l.hash,
               pg_catalog.sha256(coalesce(lag(l.hash) over (order by l.seq), ''::bytea)
                   || pg_catalog.convert_to(jsonb_build_object(
                        'seq', l.seq, 'actor_sub', l.actor_sub, 'actor_role', l.actor_role,
                        'action', l.action, 'target_type', l.target_type, 'target_id', l.target_id,
                        'before', l.before, 'after', l.after)::text, 'UTF8')) as expected,
               lag(l.hash) over (order by l.seq) as real_prev
        from audit.log l
        where l.tenant_id = p_tenant_id
    )
    select o.seq, o.hash = o.expected and o.prev_hash is not distinct from o.real_prev
    from ordered o
    order by o.seq
$$;
comment on function audit.verify_chain(uuid) is
    'Recomputes the audit hash chain of a tenant; ok=false marks a row whose hash or link is wrong.';
