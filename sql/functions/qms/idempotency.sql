-- Idempotency of engine commands (docs/engine.md).
--
-- qms.idempotency_begin(p_request_id, p_command, p_args) -> jsonb
--   null request_id: returns null (no idempotency). Otherwise inserts the key first
--   (insert ... on conflict do nothing): the first caller gets null and runs the command; a concurrent
--   duplicate waits on the unique index until the first commits, then reads the stored response and gets it
--   back (the caller returns it unchanged, writes nothing). args_hash = sha256 of the canonical jsonb text of
--   p_args. Errors: PT409 IDEMPOTENCY_KEY_REUSED when the key was used with another command or other args;
--   PT401 TENANT_REQUIRED without a tenant claim. Locking: the key's unique index entry until commit.
-- qms.idempotency_finish(p_request_id, p_response): stores the response of the command that owns the key.
create or replace function qms.idempotency_begin(p_request_id uuid, p_command text, p_args jsonb)
    returns jsonb
    language plpgsql
as $$
declare
    v_tenant uuid;
    v_hash bytea;
    v_key qms.idempotency_keys;
begin
    if p_request_id is null then
        return null;
    end if;
    v_tenant := qms.require_tenant();
    v_hash := sha256(convert_to(coalesce(p_args, '{}'::jsonb)::text, 'UTF8'));
    insert into qms.idempotency_keys (tenant_id, request_id, command, args_hash)
    values (v_tenant, p_request_id, p_command, v_hash)
    on conflict (tenant_id, request_id) do nothing;
    if found then
        return null;
    end if;
    select * into v_key from qms.idempotency_keys k where k.tenant_id = v_tenant and k.request_id = p_request_id;
    if v_key.command is distinct from p_command or v_key.args_hash is distinct from v_hash
       or v_key.response is null then
        perform qms.fail(409, 'IDEMPOTENCY_KEY_REUSED',
                         format('request_id %s was already used for another request', p_request_id),
                         'Send a new request_id for a new request; reuse one only to retry the same request.');
    end if;
    return v_key.response;
end
$$;
comment on function qms.idempotency_begin(uuid, text, jsonb) is
    'Claim an idempotency key: null = run the command, else the stored response to replay. '
    'PT409 IDEMPOTENCY_KEY_REUSED for another command/args.';

create or replace function qms.idempotency_finish(p_request_id uuid, p_response jsonb) returns jsonb
    language plpgsql
as $$
begin
    if p_request_id is not null then
        update qms.idempotency_keys k set response = p_response
         where k.tenant_id = qms.current_tenant_id() and k.request_id = p_request_id;
    end if;
    return p_response;
end
$$;
comment on function qms.idempotency_finish(uuid, jsonb) is
    'Store the response of an idempotent command under its request_id; returns the response.';
