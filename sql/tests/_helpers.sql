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

-- Seeding: the one way tests and benchmarks create tenant data. Each function is called by the owner, runs
-- the api function as a tenant-wide admin of p_tenant (role qms_admin, sub 'fixture-admin') and restores the
-- caller's role and claims, so seeded rows pass the same validation, defaults and audit as real ones.
-- A tenant itself is provisioned with qms.create_tenant(name, slug) (owner only).
-- tests.enter_as switches to a role and claims and returns what to restore with tests.leave.
create or replace function tests.enter_as(p_role text, p_claims jsonb) returns jsonb
    language plpgsql
as $$
declare
    v_prev jsonb := jsonb_build_object('role', current_setting('role'),
                                       'claims', coalesce(current_setting('request.jwt.claims', true), ''));
begin
    perform tests.authenticate_as(p_role, p_claims);
    return v_prev;
end
$$;

create or replace function tests.enter_admin(p_tenant uuid) returns jsonb
    language sql
    as $$ select tests.enter_as('qms_admin', tests.claims('qms_admin', p_tenant, null, 'fixture-admin')) $$;

create or replace function tests.leave(p_prev jsonb) returns void
    language plpgsql
as $$
begin
    perform set_config('role', p_prev ->> 'role', true);
    perform set_config('request.jwt.claims', p_prev ->> 'claims', true);
end
$$;

-- p_code: the branch code (its public join code is <tenant slug>.<code>).
create or replace function tests.add_branch(p_tenant uuid, p_name text, p_timezone text default 'UTC',
                                            p_code text default null)
    returns uuid
    language plpgsql
as $$
declare
    v_prev jsonb := tests.enter_admin(p_tenant);
    v_id uuid := (api.create_branch(p_name, p_timezone, p_code) ->> 'branch_id')::uuid;
begin
    perform tests.leave(v_prev);
    return v_id;
end
$$;

-- tests.keep_contacts(tenant): the tenant's admin lets customers leave a phone or e-mail (api.update_tenant
-- pii_policy {"contacts": true, "retention_days": 30}), as a tenant that sends notifications does.
create or replace function tests.keep_contacts(p_tenant uuid) returns void
    language plpgsql
as $$
declare
    v_prev jsonb := tests.enter_admin(p_tenant);
begin
    perform api.update_tenant(pii_policy => '{"contacts": true, "retention_days": 30}');
    perform tests.leave(v_prev);
end
$$;

create or replace function tests.add_area(p_tenant uuid, p_branch uuid, p_name text) returns uuid
    language plpgsql
as $$
declare
    v_prev jsonb := tests.enter_admin(p_tenant);
    v_id uuid := (api.create_area(p_branch, p_name) ->> 'area_id')::uuid;
begin
    perform tests.leave(v_prev);
    return v_id;
end
$$;

create or replace function tests.add_service(p_tenant uuid, p_branch uuid, p_name text, p_prefix text) returns uuid
    language plpgsql
as $$
declare
    v_prev jsonb := tests.enter_admin(p_tenant);
    v_id uuid := (api.create_service(p_branch, p_name, p_prefix) ->> 'service_id')::uuid;
begin
    perform tests.leave(v_prev);
    return v_id;
end
$$;

-- A counter serving p_service_ids, opened with api.set_counter_status (p_status null leaves it closed).
create or replace function tests.add_counter(p_tenant uuid, p_branch uuid, p_name text, p_service_ids uuid[],
                                             p_status text default 'available', p_area uuid default null)
    returns uuid
    language plpgsql
as $$
declare
    v_prev jsonb := tests.enter_admin(p_tenant);
    v_id uuid := (api.create_counter(p_branch, p_name, p_service_ids, p_area) ->> 'counter_id')::uuid;
begin
    if p_status is not null then
        perform api.set_counter_status(v_id, p_status);
    end if;
    perform tests.leave(v_prev);
    return v_id;
end
$$;

-- A staff user; p_role is the user role of api.create_user (admin, supervisor, agent, analyst).
create or replace function tests.add_user(p_tenant uuid, p_email text, p_role text, p_branch_ids uuid[] default null,
                                          p_display_name text default null, p_counter_ids uuid[] default null)
    returns uuid
    language plpgsql
as $$
declare
    v_prev jsonb := tests.enter_admin(p_tenant);
    v_id uuid := (api.create_user(p_email, coalesce(p_display_name, initcap(p_role)), p_role, p_branch_ids,
                                  p_counter_ids) ->> 'user_id')::uuid;
begin
    perform tests.leave(v_prev);
    return v_id;
end
$$;

create or replace function tests.add_device(p_tenant uuid, p_branch uuid, p_kind text, p_name text,
                                            p_area uuid default null)
    returns uuid
    language plpgsql
as $$
declare
    v_prev jsonb := tests.enter_admin(p_tenant);
    v_id uuid := (api.create_device(p_branch, p_kind, p_name, p_area) ->> 'device_id')::uuid;
begin
    perform tests.leave(v_prev);
    return v_id;
end
$$;

-- A policy for a branch (p_service null) or one of its services, merged as api.set_policy does.
create or replace function tests.set_policy(p_tenant uuid, p_branch uuid, p_service uuid, p_policy jsonb)
    returns void
    language plpgsql
as $$
declare
    v_prev jsonb := tests.enter_admin(p_tenant);
begin
    perform api.set_policy(p_branch, p_service, p_policy);
    perform tests.leave(v_prev);
end
$$;

-- Revoke a user's tokens p_times times, as an admin does by disabling and re-enabling the account (each
-- disabling bumps token_version). p_enable false leaves the user disabled after the last round.
create or replace function tests.revoke_user_tokens(p_tenant uuid, p_user uuid, p_times integer default 1,
                                                    p_enable boolean default true)
    returns integer
    language plpgsql
as $$
declare
    v_prev jsonb := tests.enter_admin(p_tenant);
    v_tv integer;
begin
    for i in 1 .. p_times loop
        perform api.update_user(p_user, is_active => false);
        if p_enable or i < p_times then
            perform api.update_user(p_user, is_active => true);
        end if;
    end loop;
    perform tests.leave(v_prev);
    select u.token_version into v_tv from qms.users u where u.user_id = p_user;
    return v_tv;
end
$$;

-- Set a device's status (pending, active, revoked) with api.update_device; revoking bumps token_version, so
-- revoke-then-activate p_revocations times first to reach a device whose older tokens were revoked.
create or replace function tests.set_device_status(p_tenant uuid, p_device uuid, p_status text,
                                                   p_revocations integer default 0)
    returns integer
    language plpgsql
as $$
declare
    v_prev jsonb := tests.enter_admin(p_tenant);
    v_tv integer;
begin
    for i in 1 .. p_revocations loop
        perform api.update_device(p_device, status => 'revoked');
        perform api.update_device(p_device, status => 'active');
    end loop;
    perform api.update_device(p_device, status => p_status);
    perform tests.leave(v_prev);
    select d.token_version into v_tv from qms.devices d where d.device_id = p_device;
    return v_tv;
end
$$;

-- Service prefix i: A, B, …, Z, then A1, B1, … (1-4 upper-case letters or digits).
create or replace function tests.prefix(p_i integer) returns text
    language sql immutable
    as $$ select chr(ascii('A') + p_i % 26) || case when p_i < 26 then '' else (p_i / 26)::text end $$;

-- One branch with p_services services ("Service 0", … prefixes A, B, …) and p_counters available counters
-- ("Counter 1", …). Counter i serves p_per_counter services from service i mod p_services (all when null), so
-- every service is reachable when counters >= services. p_policy (optional) becomes the branch-wide policy.
-- Answer: {branch_id, service_ids: [...], counter_ids: [...], mapping: {counter_id: [service_id, ...]}}.
create or replace function tests.seed_branch(p_tenant uuid, p_services integer default 1, p_counters integer default 1,
                                             p_per_counter integer default null, p_policy jsonb default null,
                                             p_name text default 'Main branch', p_timezone text default 'UTC')
    returns jsonb
    language plpgsql
as $$
declare
    v_branch uuid := tests.add_branch(p_tenant, p_name, p_timezone);
    v_per integer := least(coalesce(p_per_counter, p_services), p_services);
    v_services uuid[] := '{}';
    v_counters uuid[] := '{}';
    v_mapped uuid[];
    v_mapping jsonb := '{}';
    v_counter uuid;
begin
    for i in 0 .. p_services - 1 loop
        v_services := v_services || tests.add_service(p_tenant, v_branch, 'Service ' || i, tests.prefix(i));
    end loop;
    for i in 0 .. p_counters - 1 loop
        v_mapped := array(select v_services[(i + k) % p_services + 1] from generate_series(0, v_per - 1) k);
        v_counter := tests.add_counter(p_tenant, v_branch, 'Counter ' || i + 1, v_mapped);
        v_counters := v_counters || v_counter;
        v_mapping := v_mapping || jsonb_build_object(v_counter, v_mapped);
    end loop;
    if p_policy is not null then
        perform tests.set_policy(p_tenant, v_branch, null, p_policy);
    end if;
    return jsonb_build_object('branch_id', v_branch, 'service_ids', to_jsonb(v_services),
                              'counter_ids', to_jsonb(v_counters), 'mapping', v_mapping);
end
$$;

grant usage on schema tests to public;
grant execute on all functions in schema tests to public;
