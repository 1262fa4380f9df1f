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

grant usage on schema tests to public;
grant execute on all functions in schema tests to public;
