-- Gateway auth from the request roles' side: who may execute the qms.auth_* login helpers and
-- qms.set_user_password_hash, api.auth_whoami, api.auth_device_token_claims, and RLS plus column grants on
-- qms.refresh_tokens.
begin;
set search_path = tests, public;
select plan(66);

create function pg_temp.request_roles() returns text[] language sql immutable
    as $$ select array['qms_anon', 'qms_device', 'qms_agent', 'qms_supervisor', 'qms_admin', 'qms_worker',
                       'qms_analyst'] $$;
-- The roles (request roles and qms_authenticator) holding EXECUTE on a function, in that order.
create function pg_temp.executors(p_function text) returns text[] language sql stable
    as $$ select coalesce(array_agg(r order by o), '{}')
          from unnest(pg_temp.request_roles() || 'qms_authenticator'::text) with ordinality as x (r, o)
          where has_function_privilege(r, p_function::regprocedure, 'execute') $$;

-- fixtures (as the owner) ------------------------------------------------------------------------------
select set_config('request.headers', '{"user-agent":"pgtap","x-forwarded-for":"203.0.113.9"}', true);
select set_config('fx.ta', qms.create_tenant('Tenant A', 'tenant-a')::text, true);
select set_config('fx.tb', qms.create_tenant('Tenant B', 'tenant-b')::text, true);
select set_config('fx.b1', tests.add_branch(tests.fx('ta'), 'A Main')::text, true),
       set_config('fx.b2', tests.add_branch(tests.fx('ta'), 'A Second')::text, true),
       set_config('fx.bb', tests.add_branch(tests.fx('tb'), 'B Main')::text, true);
select set_config('fx.area', tests.add_area(tests.fx('ta'), tests.fx('b1'), 'Hall')::text, true);
-- alice: A agent; carol: A admin; dave: B agent.
select set_config('fx.alice', tests.add_user(tests.fx('ta'), 'alice@a.example', 'agent', array[tests.fx('b1')], 'Alice')::text, true),
       set_config('fx.carol', tests.add_user(tests.fx('ta'), 'carol@a.example', 'admin', null, 'Carol')::text, true),
       set_config('fx.dave', tests.add_user(tests.fx('tb'), 'dave@b.example', 'agent', array[tests.fx('bb')], 'Dave')::text, true);
-- d1: kiosk in the hall at token_version 3; d2: board of A Second; d3: revoked; d4: pending; db: tenant B's.
select set_config('fx.d1', tests.add_device(tests.fx('ta'), tests.fx('b1'), 'kiosk', 'Kiosk', tests.fx('area'))::text, true),
       set_config('fx.d2', tests.add_device(tests.fx('ta'), tests.fx('b2'), 'display', 'Board')::text, true),
       set_config('fx.d3', tests.add_device(tests.fx('ta'), tests.fx('b1'), 'kiosk', 'Old kiosk')::text, true),
       set_config('fx.d4', tests.add_device(tests.fx('ta'), tests.fx('b1'), 'kiosk', 'New kiosk')::text, true),
       set_config('fx.db', tests.add_device(tests.fx('tb'), tests.fx('bb'), 'kiosk', 'B Kiosk')::text, true);
select is(array[tests.set_device_status(tests.fx('ta'), tests.fx('d1'), 'active', 3),
                tests.set_device_status(tests.fx('ta'), tests.fx('d3'), 'revoked'),
                tests.set_device_status(tests.fx('ta'), tests.fx('d4'), 'pending')],
          array[3, 1, 0], 'fixture: d1 at token_version 3, d3 revoked, d4 pending');
select qms.auth_issue_refresh(tests.fx('ta'), tests.fx('alice'), tests.token_hash('alice-1'), gen_random_uuid(),
                              now() + interval '1 day');
select qms.auth_issue_refresh(tests.fx('ta'), tests.fx('alice'), tests.token_hash('alice-2'), gen_random_uuid(),
                              now() + interval '1 day');
select qms.auth_issue_refresh(tests.fx('ta'), tests.fx('carol'), tests.token_hash('carol-1'), gen_random_uuid(),
                              now() + interval '1 day');
select qms.auth_issue_refresh(tests.fx('tb'), tests.fx('dave'), tests.token_hash('dave-1'), gen_random_uuid(),
                              now() + interval '1 day');

-- the grants as the catalog has them ----------------------------------------------------------------------
select is(pg_temp.executors('qms.auth_lookup_user(text, text)'), array['qms_authenticator'],
          'auth_lookup_user: executable by qms_authenticator only');
select is(pg_temp.executors('qms.auth_issue_refresh(uuid, uuid, bytea, uuid, timestamptz, boolean, text, text)'),
          array['qms_authenticator'], 'auth_issue_refresh: executable by qms_authenticator only');
select is(pg_temp.executors('qms.auth_rotate_refresh(uuid, bytea, bytea, timestamptz)'), array['qms_authenticator'],
          'auth_rotate_refresh: executable by qms_authenticator only');
select is(pg_temp.executors('qms.auth_revoke_refresh(uuid, bytea)'), array['qms_authenticator'],
          'auth_revoke_refresh: executable by qms_authenticator only');
select is(pg_temp.executors('qms.auth_token_valid(uuid, text, text, integer)'), array['qms_authenticator'],
          'auth_token_valid: executable by qms_authenticator only');
select is(pg_temp.executors('qms.set_user_password_hash(uuid, uuid, text)'), '{}'::text[],
          'set_user_password_hash: executable by no request role and not by qms_authenticator (owner/DBA only)');
select is(pg_temp.executors('api.auth_whoami()'), pg_temp.request_roles(),
          'auth_whoami: executable by every request role, not by qms_authenticator before set role');
select is(pg_temp.executors('api.auth_device_token_claims(uuid)'), array['qms_admin'],
          'auth_device_token_claims: executable by qms_admin only');
select is((select array_agg(p.proname::text order by p.proname) from pg_proc p
           where p.pronamespace = 'qms'::regnamespace and p.proname in
                 ('auth_lookup_user', 'auth_issue_refresh', 'auth_rotate_refresh', 'auth_revoke_refresh',
                  'auth_token_valid', 'set_user_password_hash')
             and p.prosecdef and p.proconfig @> array['search_path=""']),
          array['auth_issue_refresh', 'auth_lookup_user', 'auth_revoke_refresh', 'auth_rotate_refresh',
                'auth_token_valid', 'set_user_password_hash'],
          'the qms auth functions are security definer with an empty search_path');

-- qms_authenticator may call the login helpers (before set role) ------------------------------------------
select tests.authenticate_as('qms_authenticator', '{}');
select is((select user_id from qms.auth_lookup_user('tenant-a', 'alice@a.example')), tests.fx('alice'),
          'qms_authenticator: auth_lookup_user works');
select isa_ok(qms.auth_issue_refresh(tests.fx('ta'), tests.fx('alice'), tests.token_hash('alice-3'), gen_random_uuid(),
                                     now() + interval '1 day'), 'uuid', 'qms_authenticator: auth_issue_refresh works');
select is((select status from qms.auth_rotate_refresh(tests.fx('ta'), tests.token_hash('alice-3'),
                                                      tests.token_hash('alice-4'), now() + interval '1 day')),
          'ok', 'qms_authenticator: auth_rotate_refresh works');
select is(qms.auth_revoke_refresh(tests.fx('ta'), tests.token_hash('alice-4')), true,
          'qms_authenticator: auth_revoke_refresh works');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('alice')::text, 'qms_agent', 0), true,
          'qms_authenticator: auth_token_valid works');
select is(tests.error_of(format($$ select qms.set_user_password_hash(%L, %L, '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aA') $$,
                        tests.fx('ta'), tests.fx('alice'))), '42501 ', 'qms_authenticator may not set a password hash');
select is(tests.error_of('select api.auth_whoami()'), '42501 ',
          'qms_authenticator (NOINHERIT) cannot call api functions without set role');
select is(tests.error_of('select count(*) from qms.refresh_tokens'), '42501 ',
          'qms_authenticator cannot read qms.refresh_tokens directly');
select tests.reset_role();

-- request roles may not call the login helpers ---------------------------------------------------------
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, tests.fx('carol')::text));
select is(tests.error_of($$ select * from qms.auth_lookup_user('tenant-a', 'alice@a.example') $$), '42501 ',
          'qms_admin may not call auth_lookup_user');
select is(tests.error_of(format($$ select qms.auth_issue_refresh(%L, %L, tests.token_hash('x'), gen_random_uuid(),
                                                         now() + interval '1 day') $$, tests.fx('ta'), tests.fx('carol'))), '42501 ', 'qms_admin may not call auth_issue_refresh');
select is(tests.error_of(format($$ select * from qms.auth_rotate_refresh(%L, tests.token_hash('carol-1'), tests.token_hash('y'),
                                                                  now() + interval '1 day') $$, tests.fx('ta'))), '42501 ', 'qms_admin may not call auth_rotate_refresh');
select is(tests.error_of(format($$ select qms.auth_revoke_refresh(%L, tests.token_hash('alice-1')) $$, tests.fx('ta'))),
          '42501 ', 'qms_admin may not call auth_revoke_refresh');
select is(tests.error_of(format($$ select qms.auth_token_valid(%L, %L, 'qms_admin', 0) $$, tests.fx('ta'), tests.fx('carol'))),
          '42501 ', 'qms_admin may not call auth_token_valid');
select is(tests.error_of(format($$ select qms.set_user_password_hash(%L, %L, '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aA') $$,
                        tests.fx('ta'), tests.fx('alice'))), '42501 ', 'qms_admin may not call set_user_password_hash');
select tests.reset_role();

-- every other request role: the same six calls are all 42501
create function pg_temp.auth_calls_as(p_role text) returns text[] language plpgsql as $$
declare
    v_calls text[] := array[
        $q$ select * from qms.auth_lookup_user('tenant-a', 'alice@a.example') $q$,
        format($q$ select qms.auth_issue_refresh(%L, %L, tests.token_hash('z'), gen_random_uuid(), now() + interval '1 day') $q$,
               tests.fx('ta'), tests.fx('alice')),
        format($q$ select * from qms.auth_rotate_refresh(%L, tests.token_hash('alice-1'), tests.token_hash('z'),
                   now() + interval '1 day') $q$, tests.fx('ta')),
        format($q$ select qms.auth_revoke_refresh(%L, tests.token_hash('alice-1')) $q$, tests.fx('ta')),
        format($q$ select qms.auth_token_valid(%L, %L, 'qms_agent', 0) $q$, tests.fx('ta'), tests.fx('alice')),
        format($q$ select qms.set_user_password_hash(%L, %L, '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aA') $q$,
               tests.fx('ta'), tests.fx('alice'))];
    v_out text[] := '{}';
    v_sql text;
begin
    perform tests.authenticate_as(p_role, tests.claims(p_role, tests.fx('ta'), array[tests.fx('b1')],
                                                       tests.fx('alice')::text));
    foreach v_sql in array v_calls loop
        v_out := v_out || btrim(tests.error_of(v_sql));
    end loop;
    perform tests.reset_role();
    return v_out;
end
$$;
select is(pg_temp.auth_calls_as(r), array_fill('42501'::text, array[6]),
          r || ': the six auth functions are all refused with 42501')
from unnest(array['qms_anon', 'qms_device', 'qms_agent', 'qms_supervisor', 'qms_worker', 'qms_analyst']) r;
select is((select count(*)::int from qms.refresh_tokens where token_hash = tests.token_hash('z')) || '|'
              || (select count(*) filter (where revoked_at is not null) from qms.refresh_tokens
                  where token_hash = tests.token_hash('alice-1')),
          '0|0', 'the refused calls changed nothing');

-- api.auth_whoami --------------------------------------------------------------------------------------------
select set_config('request.id', 'req-42', true);
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('ta'), array[tests.fx('b1')],
                                                       tests.fx('alice')::text,
                                                       '{"counter_ids": ["00000000-0000-4000-8000-0000000000c1"]}'));
select is(api.auth_whoami(),
          jsonb_build_object('role', 'qms_agent', 'tenant_id', tests.fx('ta'), 'sub', tests.fx('alice'),
                             'branch_ids', jsonb_build_array(tests.fx('b1')),
                             'counter_ids', '["00000000-0000-4000-8000-0000000000c1"]'::jsonb, 'request_id', 'req-42'),
          'whoami: role, tenant, sub, branch and counter scope and request id of an agent');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, tests.fx('carol')::text));
select set_config('request.id', '', true);
select is(api.auth_whoami(),
          jsonb_build_object('role', 'qms_admin', 'tenant_id', tests.fx('ta'), 'sub', tests.fx('carol'),
                             'branch_ids', null, 'counter_ids', null, 'request_id', null),
          'whoami of a tenant-wide admin: no branch or counter scope, no request id');
select tests.authenticate_as('qms_anon', '{}');
select is(api.auth_whoami(),
          '{"role": "qms_anon", "tenant_id": null, "sub": null, "branch_ids": null, "counter_ids": null,
            "request_id": null}'::jsonb,
          'whoami without claims: just the database role');
select tests.authenticate_as('qms_device', '{"role": "qms_device", "tenant_id": "not-a-uuid", "sub": "x",
                                             "branch_ids": ["nope"]}');
select is(api.auth_whoami() - 'sub' - 'role' - 'request_id' - 'counter_ids',
          '{"tenant_id": null, "branch_ids": []}'::jsonb, 'whoami ignores a malformed tenant and malformed branch ids');
select tests.reset_role();
create function pg_temp.whoami_as(p_role text) returns text language plpgsql as $$
declare
    v_role text;
begin
    perform tests.authenticate_as(p_role, tests.claims(p_role, tests.fx('tb')));
    v_role := (api.auth_whoami() ->> 'role') || '@' || (api.auth_whoami() ->> 'tenant_id');
    perform tests.reset_role();
    return v_role;
end
$$;
select is((select array_agg(pg_temp.whoami_as(r) order by o) from unnest(pg_temp.request_roles()) with ordinality x (r, o)),
          (select array_agg(r || '@' || tests.fx('tb') order by o) from unnest(pg_temp.request_roles()) with ordinality x (r, o)),
          'every request role may call whoami and sees its own role and tenant');

-- api.auth_device_token_claims -----------------------------------------------------------------------------
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, tests.fx('carol')::text));
select is(api.auth_device_token_claims(tests.fx('d1')),
          jsonb_build_object('device_id', tests.fx('d1'), 'tenant_id', tests.fx('ta'), 'branch_id', tests.fx('b1'),
                             'area_id', tests.fx('area'), 'kind', 'kiosk', 'token_version', 3),
          'device token claims: device, tenant, branch, area, kind, token_version');
select is(api.auth_device_token_claims(device_id => tests.fx('d2')) - 'device_id' - 'tenant_id',
          jsonb_build_object('branch_id', tests.fx('b2'), 'area_id', null, 'kind', 'display', 'token_version', 0),
          'a device without an area (named argument device_id)');
select tests.reset_role();
select is((select actor_sub || '|' || actor_role || '|' || target_type || '|' || after::text || '|' || ip
           from audit.log where action = 'device.token_issued' and target_id = tests.fx('d1')::text),
          tests.fx('carol')::text || '|qms_admin|device|{"token_version": 3}|203.0.113.9',
          'issuing device token claims is audited (device.token_issued)');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, tests.fx('carol')::text));
select is(tests.error_of(format('select api.auth_device_token_claims(%L)', tests.fx('d3'))), 'PT409 DEVICE_REVOKED',
          'a revoked device is PT409 DEVICE_REVOKED');
select is(tests.error_of(format('select api.auth_device_token_claims(%L)', tests.fx('d4'))), 'PT409 DEVICE_NOT_ACTIVE',
          'a pending device gets no token (it would be refused on first use)');
select is(tests.error_of('select api.auth_device_token_claims(gen_random_uuid())'), 'PT404 DEVICE_NOT_FOUND',
          'an unknown device is PT404 DEVICE_NOT_FOUND');
select is(tests.error_of('select api.auth_device_token_claims(null)'), 'PT404 DEVICE_NOT_FOUND',
          'a null device id is PT404 DEVICE_NOT_FOUND');
select is(tests.error_of(format('select api.auth_device_token_claims(%L)', tests.fx('db'))), 'PT404 DEVICE_NOT_FOUND',
          'a device of another tenant is PT404 DEVICE_NOT_FOUND');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), array[tests.fx('b1')],
                                                       tests.fx('carol')::text));
select is(api.auth_device_token_claims(tests.fx('d1')) ->> 'device_id', tests.fx('d1')::text,
          'a branch-scoped admin gets claims for a device of its branch');
select is(tests.error_of(format('select api.auth_device_token_claims(%L)', tests.fx('d2'))), 'PT404 DEVICE_NOT_FOUND',
          'a branch-scoped admin gets PT404 DEVICE_NOT_FOUND outside its branches');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('tb'), null, 'admin-b'));
select is(tests.error_of(format('select api.auth_device_token_claims(%L)', tests.fx('d1'))), 'PT404 DEVICE_NOT_FOUND',
          'tenant B''s admin gets PT404 DEVICE_NOT_FOUND for a device of tenant A');
select tests.authenticate_as('qms_admin', '{"role": "qms_admin", "sub": "no-tenant"}');
select is(tests.error_of(format('select api.auth_device_token_claims(%L)', tests.fx('d1'))), 'PT401 TENANT_REQUIRED',
          'an admin without a tenant claim is PT401 TENANT_REQUIRED');
select tests.authenticate_as('qms_supervisor', tests.claims('qms_supervisor', tests.fx('ta'), array[tests.fx('b1')]));
select is(tests.error_of(format('select api.auth_device_token_claims(%L)', tests.fx('d1'))), '42501 ',
          'a supervisor may not get device token claims');
select tests.authenticate_as('qms_device', tests.claims('qms_device', tests.fx('ta'), array[tests.fx('b1')],
                                                        tests.fx('d1')::text));
select is(tests.error_of(format('select api.auth_device_token_claims(%L)', tests.fx('d1'))), '42501 ',
          'a device may not mint its own token claims');
select tests.reset_role();
select set_config('request.jwt.claims', tests.claims('qms_admin', tests.fx('ta'))::text, true);
select is(tests.error_of(format('select api.auth_device_token_claims(%L)', tests.fx('d1'))), 'PT403 FORBIDDEN',
          'an owner session that forgot set role is PT403 FORBIDDEN');
select tests.reset_role();
select is((select count(*)::int from audit.log where action = 'device.token_issued'), 3,
          'only the successful calls were audited (d1, d2, d1 again)');

-- RLS and column grants on qms.refresh_tokens ------------------------------------------------------------
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('ta'), array[tests.fx('b1')],
                                                       tests.fx('alice')::text));
select is((select array_agg(distinct user_id) from qms.refresh_tokens), array[tests.fx('alice')],
          'a user sees their own sessions only');
select is((select count(*)::int from qms.refresh_tokens), 4, '... all of them (two logins and one rotated pair)');
select is(tests.error_of('select token_hash from qms.refresh_tokens'), '42501 ', 'no request role reads token hashes');
select is(tests.error_of('select replaced_by from qms.refresh_tokens'), '42501 ', 'nor replaced_by');
select is(tests.error_of(format($$ insert into qms.refresh_tokens (tenant_id, token_hash, family_id, user_id, expires_at)
                           values (%L, tests.token_hash('forged'), gen_random_uuid(), %L, now() + interval '1 year') $$,
                        tests.fx('ta'), tests.fx('alice'))), '42501 ', 'a user cannot insert a refresh token');
select is(tests.error_of('update qms.refresh_tokens set revoked_at = null'), '42501 ',
          'a user cannot un-revoke a refresh token');
select is(tests.error_of('delete from qms.refresh_tokens'), '42501 ', 'a user cannot delete refresh tokens');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, tests.fx('carol')::text));
select is((select array_agg(distinct user_id) from qms.refresh_tokens), array[tests.fx('carol')],
          'a tenant-wide admin sees only their own sessions, not other users''');
select is(tests.error_of('update qms.refresh_tokens set expires_at = now() + interval ''10 years'''), '42501 ',
          'an admin cannot extend refresh tokens');
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('tb'), null, tests.fx('alice')::text));
select is((select count(*)::int from qms.refresh_tokens), 0,
          'tenant B claims with the sub of a tenant A user see nothing of tenant A');
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('tb'), null, tests.fx('dave')::text));
select is((select array_agg(tenant_id::text || '|' || user_id) from qms.refresh_tokens),
          array[tests.fx('tb')::text || '|' || tests.fx('dave')], 'tenant B''s user sees only their own B session');
select tests.reset_role();
select is((select array_agg(r order by o) from unnest(array['qms_anon', 'qms_device', 'qms_worker']) with ordinality x (r, o)
           where not has_table_privilege(r, 'qms.refresh_tokens', 'select')
             and not has_any_column_privilege(r, 'qms.refresh_tokens', 'select')),
          array['qms_anon', 'qms_device', 'qms_worker'], 'anon, device and worker roles have no access at all');
select is((select array_agg(r order by o) from unnest(pg_temp.request_roles() || 'qms_authenticator'::text)
                                                with ordinality x (r, o)
           where has_any_column_privilege(r, 'qms.refresh_tokens', 'insert')
              or has_any_column_privilege(r, 'qms.refresh_tokens', 'update')
              or has_table_privilege(r, 'qms.refresh_tokens', 'delete')
              or has_table_privilege(r, 'qms.refresh_tokens', 'truncate')), null,
          'no request role and not qms_authenticator may write qms.refresh_tokens');
select is((select relrowsecurity and relforcerowsecurity from pg_class where oid = 'qms.refresh_tokens'::regclass), true,
          'RLS is enabled and forced on qms.refresh_tokens');

select * from finish();
rollback;
