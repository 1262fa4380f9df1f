-- Idempotency keys: set_counter_status replay, purge by age (qms_worker only), hashing rules.
begin;
set search_path = tests, public;
select plan(7);
select qms.create_tenant('Tenant P', 'tenant-p') as t \gset
insert into qms.branches (tenant_id, branch_id, name) values (:'t', '00000000-0000-0000-0000-0000000000b1', 'P');
insert into qms.counters (tenant_id, counter_id, branch_id, name, status)
values (:'t', '00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000b1', 'P1', 'available');

select tests.authenticate_as('qms_agent', tests.claims('qms_agent', :'t', array['00000000-0000-0000-0000-0000000000b1'::uuid]));
select is(api.set_counter_status('00000000-0000-0000-0000-0000000000c1', 'break', 'eeeeeeee-0000-0000-0000-000000000001') ->> 'status',
          'break', 'set_counter_status with a request_id');
select api.set_counter_status('00000000-0000-0000-0000-0000000000c1', 'available');
select is(api.set_counter_status('00000000-0000-0000-0000-0000000000c1', 'break', 'eeeeeeee-0000-0000-0000-000000000001') ->> 'status',
          'break', 'a replay returns the stored answer');
select is((select status::text from qms.counters), 'available', 'and changes nothing');
select throws_ok($$ select api.set_counter_status('00000000-0000-0000-0000-0000000000c1', 'closed',
                                                  'eeeeeeee-0000-0000-0000-000000000001') $$,
                 'PT409', null, 'IDEMPOTENCY_KEY_REUSED for other arguments');
select throws_ok($$ select worker.purge_idempotency_keys() $$, '42501', null, 'agents cannot purge keys');
select tests.reset_role();

update qms.idempotency_keys set created_at = now() - interval '8 days';
select tests.authenticate_as('qms_worker', '{"role": "qms_worker", "sub": "worker-1"}');
select is(worker.purge_idempotency_keys(), 1, 'the worker purges keys older than 7 days across tenants');
select is(worker.purge_idempotency_keys('1 second'), 0, 'nothing left to purge');
select tests.reset_role();

select * from finish();
rollback;
