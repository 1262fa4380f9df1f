-- Claims helpers, tenant provisioning and the audit chain.
begin;
set search_path = tests, public;
select plan(18);

select is(tests.error_of($$ select qms.create_tenant('Acme', 'Bad Slug') $$), 'PT400 INVALID_SLUG',
          'a malformed slug is refused');
select lives_ok($$ select qms.create_tenant('Acme Bank', 'acme') $$, 'a tenant is provisioned');
select is(tests.error_of($$ select qms.create_tenant('Acme 2', 'acme') $$), 'PT409 TENANT_EXISTS', 'a slug is unique');

select tests.authenticate_as('qms_admin', tests.claims('qms_admin', (select tenant_id from qms.tenants where slug = 'acme'), null, 'user-1'));
select is(qms.current_tenant_id(), (select tenant_id from qms.tenants where slug = 'acme'), 'tenant claim is read');
select is(qms.current_sub(), 'user-1', 'sub claim is read');
select ok(qms.can_see_branch(gen_random_uuid()), 'a tenant-wide admin reaches any branch');
select is(qms.audit_write('test.action', 'thing', 'x-1', null, '{"a": 1}'), 1::bigint, 'first audit row has seq 1');
select is(qms.audit_write('test.action', 'thing', 'x-2', '{"a": 1}', '{"a": 2}'), 2::bigint, 'second audit row has seq 2');
select is(tests.error_of($$ update audit.log set action = 'forged' $$),
          '42501 ', 'request roles cannot rewrite the audit log');
select tests.reset_role();

-- Claim parsing: absent, well-formed and malformed scopes.
select set_config('request.jwt.claims', '{"role":"qms_agent","tenant_id":"not-a-uuid"}', true);
select is(qms.current_tenant_id(), null, 'a malformed tenant claim is no tenant');
select is(qms.current_branch_ids(), null, 'an absent branch_ids claim is null');
select set_config('request.jwt.claims', '{"branch_ids":["00000000-0000-0000-0000-0000000000b1", "00000000-0000-0000-0000-0000000000B2"]}', true);
select is(qms.current_branch_ids(), array['00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000b2']::uuid[],
          'branch_ids is read as a uuid array');
select set_config('request.jwt.claims', '{"branch_ids":["00000000-0000-0000-0000-0000000000b1", "x\", \"y"]}', true);
select is(qms.current_branch_ids(), '{}'::uuid[], 'a malformed element makes the scope empty, never tenant-wide');
select set_config('request.jwt.claims', '{"branch_ids":[]}', true);
select is(qms.current_branch_ids(), '{}'::uuid[], 'an empty branch_ids claim is an empty scope');
select set_config('request.jwt.claims', '{"branch_ids":"00000000-0000-0000-0000-0000000000b1"}', true);
select is(qms.current_branch_ids(), '{}'::uuid[], 'a branch_ids claim that is not an array is an empty scope');
select set_config('request.jwt.claims', '{"branch_ids":null}', true);
select is(qms.current_branch_ids(), null, 'a JSON null branch_ids claim is absent');
select set_config('request.jwt.claims', '', true);

select is(tests.error_of($$ delete from audit.log $$), 'PT405 APPEND_ONLY', 'even the owner cannot delete audit rows');
select results_eq($$ select bool_and(ok) from audit.verify_chain((select tenant_id from qms.tenants where slug = 'acme')) $$,
                  $$ values (true) $$, 'the audit chain verifies');

select * from finish();
rollback;
