-- Helpers for pgTAP tests (installed in test databases only, schema tests).
-- Usage inside a test transaction:
--   select tests.authenticate_as('qms_admin', tests.claims('qms_admin', :tenant));
--   ... calls under that role and claims ...
--   select tests.reset_role();

create or replace function tests.claims(p_role text, p_tenant uuid, p_branch_ids uuid[] default null,
                                        p_sub text default null, p_extra jsonb default '{}')
    returns jsonb
    language sql immutable
as $$
    select jsonb_strip_nulls(jsonb_build_object(
        'role', p_role, 'tenant_id', p_tenant, 'sub', coalesce(p_sub, gen_random_uuid()::text),
        'branch_ids', to_jsonb(p_branch_ids))) || p_extra
$$;

create or replace function tests.authenticate_as(p_role text, p_claims jsonb) returns void
    language plpgsql
as $$
begin
    perform set_config('request.jwt.claims', p_claims::text, true);
    perform set_config('role', p_role, true);
end
$$;

create or replace function tests.reset_role() returns void
    language plpgsql
as $$
begin
    perform set_config('role', 'none', true);
    perform set_config('request.jwt.claims', '', true);
end
$$;

-- Fixture ids kept in transaction-local settings: select set_config('fx.t1', <uuid>::text, true); tests.fx('t1').
create or replace function tests.fx(p_key text) returns uuid
    language sql stable
    as $$ select current_setting('fx.' || p_key)::uuid $$;

create or replace function tests.fxj(p_key text) returns jsonb
    language sql stable
    as $$ select current_setting('fx.' || p_key)::jsonb $$;

-- "SQLSTATE REASON_KEY" of the error a statement raises (the reason key is qms.fail's DETAIL; other errors
-- give "SQLSTATE " and their detail, if any), or 'no error'. The one way pgTAP files assert an error, so that
-- SQLSTATE and reason key are both checked: select is(tests.error_of($$ ... $$), 'PT409 COUNTER_BUSY', '...');
-- (pgTAP's throws_ok compares only the SQLSTATE and the message; tests/test_pgtap_style.py forbids it.)
create or replace function tests.error_of(p_sql text) returns text
    language plpgsql
as $$
declare
    v_state text;
    v_detail text;
begin
    execute p_sql;
    return 'no error';
exception when others then
    get stacked diagnostics v_state = returned_sqlstate, v_detail = pg_exception_detail;
    return v_state || ' ' || coalesce(v_detail, '');
end
$$;

-- sha256 of a text token, as the gateway stores refresh tokens (qms.refresh_tokens.token_hash).
create or replace function tests.token_hash(p_token text) returns bytea
    language sql immutable
    as $$ select sha256(convert_to(p_token, 'UTF8')) $$;

grant usage on schema tests to public;
grant execute on all functions in schema tests to public;
