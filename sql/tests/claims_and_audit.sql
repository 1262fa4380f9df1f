-- Claims helpers, tenant provisioning and the audit chain.
begin;
set search_path = tests, public;
select plan(11);

select throws_ok($$ select qms.create_tenant('Acme', 'Bad Slug') $$, 'PT400', 'tenant slug must be 2 to 63 lower-case letters, digits or dashes',
                 'a malformed slug is refused');
select lives_ok($$ select qms.create_tenant('Acme Bank', 'acme') $$, 'a tenant is provisioned');
select throws_ok($$ select qms.create_tenant('Acme 2', 'acme') $$, 'PT409', null, 'a slug is unique');

select tests.authenticate_as('qms_admin', tests.claims('qms_admin', (select tenant_id from qms.tenants where slug = 'acme'), null, 'user-1'));
select is(qms.current_tenant_id(), (select tenant_id from qms.tenants where slug = 'acme'), 'tenant claim is read');
select is(qms.current_sub(), 'user-1', 'sub claim is read');
select ok(qms.can_see_branch(gen_random_uuid()), 'a tenant-wide admin reaches any branch');
select is(qms.audit_write('test.action', 'thing', 'x-1', null, '{"a": 1}'), 1::bigint, 'first audit row has seq 1');
select is(qms.audit_write('test.action', 'thing', 'x-2', '{"a": 1}', '{"a": 2}'), 2::bigint, 'second audit row has seq 2');
select throws_ok($$ update audit.log set action = 'forged' $$, '42501', null, 'request roles cannot rewrite the audit log');
select tests.reset_role();

select throws_ok($$ delete from audit.log $$, 'PT405', null, 'even the owner cannot delete audit rows');
select results_eq($$ select bool_and(ok) from audit.verify_chain((select tenant_id from qms.tenants where slug = 'acme')) $$,
                  $$ values (true) $$, 'the audit chain verifies');

select * from finish();
rollback;
