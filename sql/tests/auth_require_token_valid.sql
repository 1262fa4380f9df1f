-- qms.auth_require_token_valid: the raising form of qms.auth_token_valid that the gateway sends first in
-- each request's pipeline. Grants, security definer, PT401 TOKEN_REVOKED with its reason key, and that a
-- failing check aborts what follows it in the same transaction.
begin;
set search_path = tests, public;
select plan(12);

create function pg_temp.executors(p_function text) returns text[] language sql stable
    as $$ select coalesce(array_agg(r order by o), '{}')
          from unnest(array['qms_anon', 'qms_device', 'qms_agent', 'qms_supervisor', 'qms_admin', 'qms_worker',
                            'qms_analyst', 'qms_authenticator']) with ordinality as x (r, o)
          where has_function_privilege(r, p_function::regprocedure, 'execute') $$;

-- fixtures (as the owner) ------------------------------------------------------------------------------
select set_config('fx.ta', qms.create_tenant('Tenant A', 'tenant-a')::text, true);
select set_config('fx.b1', tests.add_branch(tests.fx('ta'), 'A Main')::text, true);
-- agent: token_version 2 (revoked twice); off: disabled; kiosk: token_version 1; revoked: a revoked kiosk.
select set_config('fx.agent', tests.add_user(tests.fx('ta'), 'agent@a.example', 'agent', array[tests.fx('b1')])::text, true),
       set_config('fx.off', tests.add_user(tests.fx('ta'), 'off@a.example', 'agent', array[tests.fx('b1')])::text, true),
       set_config('fx.kiosk', tests.add_device(tests.fx('ta'), tests.fx('b1'), 'kiosk', 'Kiosk')::text, true),
       set_config('fx.revoked', tests.add_device(tests.fx('ta'), tests.fx('b1'), 'kiosk', 'Old kiosk')::text, true);
select is(array[tests.revoke_user_tokens(tests.fx('ta'), tests.fx('agent'), 2),
                tests.revoke_user_tokens(tests.fx('ta'), tests.fx('off'), 1, p_enable => false),
                tests.set_device_status(tests.fx('ta'), tests.fx('kiosk'), 'active', 1),
                tests.set_device_status(tests.fx('ta'), tests.fx('revoked'), 'revoked')],
          array[2, 1, 1, 1], 'fixture: the token versions the checks below rely on');

-- definition and grants ---------------------------------------------------------------------------------
select is((select p.prosecdef and p.proconfig @> array['search_path=""'] from pg_proc p
           where p.oid = 'qms.auth_require_token_valid(uuid, text, text, integer)'::regprocedure), true,
          'security definer with an empty search_path');
select is(pg_temp.executors('qms.auth_require_token_valid(uuid, text, text, integer)'), array['qms_authenticator'],
          'executable by qms_authenticator only');

-- as the gateway (qms_authenticator, before set role) -----------------------------------------------------
select tests.authenticate_as('qms_authenticator', '{}');
select is(tests.error_of(format($$ select qms.auth_require_token_valid(%L, %L, 'qms_agent', 2) $$,
                                tests.fx('ta'), tests.fx('agent'))), 'no error',
          'a valid user token passes');
select is(tests.error_of(format($$ select qms.auth_require_token_valid(%L, %L, 'qms_device', 1) $$,
                                tests.fx('ta'), tests.fx('kiosk'))), 'no error',
          'a valid device token passes');
select is(tests.error_of(format($$ select qms.auth_require_token_valid(%L, %L, 'qms_agent', 1) $$,
                                tests.fx('ta'), tests.fx('agent'))), 'PT401 TOKEN_REVOKED',
          'an old token_version raises PT401 TOKEN_REVOKED');
select is(tests.error_of(format($$ select qms.auth_require_token_valid(%L, %L, 'qms_agent', 1) $$,
                        tests.fx('ta'), tests.fx('off'))), 'PT401 TOKEN_REVOKED',
          'a disabled user raises PT401 with the message the gateway answers');
select is(tests.error_of(format($$ select qms.auth_require_token_valid(%L, %L, 'qms_device', 1) $$,
                                tests.fx('ta'), tests.fx('revoked'))), 'PT401 TOKEN_REVOKED',
          'a revoked device raises PT401 TOKEN_REVOKED');
select is(tests.error_of(format($$ select qms.auth_require_token_valid(%L, %L, 'qms_agent', null) $$,
                                tests.fx('ta'), tests.fx('revoked'))), 'PT401 TOKEN_REVOKED',
          'a token of another role whose sub names a revoked device raises PT401 TOKEN_REVOKED');
select is(tests.error_of(format($$ select qms.auth_require_token_valid(%L, 'relay', 'qms_worker', null) $$,
                                tests.fx('ta'))), 'no error',
          'a worker token passes');
select tests.reset_role();

-- a failing check aborts the statements after it (as in the gateway's pipeline) ------------------------------
select is(tests.error_of(format(
              $$ do $d$ begin
                     perform qms.auth_require_token_valid(%L, %L, 'qms_agent', 1);
                     update qms.users set display_name = 'changed' where user_id = %L;
                 end $d$ $$, tests.fx('ta'), tests.fx('agent'), tests.fx('agent'))),
          'PT401 TOKEN_REVOKED', 'the check raises before the statement after it');
select is((select display_name from qms.users where user_id = tests.fx('agent')), 'Agent',
          '... which therefore changed nothing');

select * from finish();
rollback;
