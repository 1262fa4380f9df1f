-- qms.audit_append: the one audit.log writer. Appends one row for an explicit tenant and actor, hash-chained
-- per tenant. Called by qms.audit_write (request paths: tenant and actor from the claims) and by the login
-- throttle (qms.auth_login_failed: no claims yet, the gateway passes the client's address).
-- Locking: the tenant's chain head row (for update) serialises audit writes per tenant, so the hash
-- chain never forks. hash = sha256(prev_hash || canonical row text). Errors: none. Not idempotent.
create or replace function qms.audit_append(
    p_tenant_id uuid,
    p_actor_sub text,
    p_actor_role text,
    p_action text,
    p_target_type text,
    p_target_id text,
    p_before jsonb,
    p_after jsonb,
    p_ip text,
    p_user_agent text,
    p_request_id text
) returns bigint
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_head audit.chain_heads;
    v_seq bigint;
    v_hash bytea;
    v_row jsonb;
begin
    insert into audit.chain_heads (tenant_id) values (p_tenant_id) on conflict (tenant_id) do nothing;
    select * into strict v_head from audit.chain_heads where tenant_id = p_tenant_id for update;
    v_seq := v_head.last_seq + 1;
    v_row := jsonb_build_object(
        'seq', v_seq, 'actor_sub', p_actor_sub, 'actor_role', p_actor_role,
        'action', p_action, 'target_type', p_target_type, 'target_id', p_target_id,
        'before', p_before, 'after', p_after);
    v_hash := pg_catalog.sha256(coalesce(v_head.last_hash, ''::bytea)
                                || pg_catalog.convert_to(v_row::text, 'UTF8'));
    insert into audit.log (tenant_id, seq, actor_sub, actor_role, action, target_type, target_id,
                           before, after, ip, user_agent, request_id, prev_hash, hash)
    values (p_tenant_id, v_seq, p_actor_sub, p_actor_role, p_action, p_target_type, p_target_id,
            p_before, p_after, p_ip, p_user_agent, p_request_id, v_head.last_hash, v_hash);
    update audit.chain_heads set last_seq = v_seq, last_hash = v_hash where tenant_id = p_tenant_id;
    return v_seq;
end
$$;
comment on function qms.audit_append(uuid, text, text, text, text, text, jsonb, jsonb, text, text, text) is
    'The one audit.log writer: one row for an explicit tenant and actor, hash-chained per tenant.';

-- qms.audit_write: the audit.log writer of request paths. security definer so every role can append without
-- holding insert rights on the table; the actor comes from the request claims, never from a parameter, so it
-- cannot be forged; ip, user agent and request id from the headers the gateway set (request.headers).
-- Errors: PT401 TENANT_REQUIRED without a tenant claim. Locking and hashing: qms.audit_append.
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
begin
    -- PL/pgSQL keeps its plan for the session (a security definer SQL function is planned per transaction).
    return qms.audit_append(
        qms.require_tenant(), qms.current_sub(), qms.current_role_name(), p_action, p_target_type, p_target_id,
        p_before, p_after,
        coalesce(qms.request_header('x-forwarded-for'), qms.request_header('x-real-ip')),
        qms.request_header('user-agent'),
        coalesce(qms.request_header('x-request-id'), nullif(pg_catalog.current_setting('request.id', true), '')));
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
