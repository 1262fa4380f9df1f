-- Idempotency keys: set_counter_status replay, purge by age (qms_worker only), hashing rules.
begin;
set search_path = tests, public;
select plan(7);
select qms.create_tenant('Tenant P', 'tenant-p') as t \gset
select tests.add_branch(:'t', 'P') as b \gset
select tests.add_counter(:'t', :'b', 'P1', null) as c \gset

select tests.authenticate_as('qms_agent', tests.claims('qms_agent', :'t', array[:'b'::uuid]));
select is(api.set_counter_status(:'c', 'break', 'eeeeeeee-0000-0000-0000-000000000001') ->> 'status',
          'break', 'set_counter_status with a request_id');
select api.set_counter_status(:'c', 'available');
select is(api.set_counter_status(:'c', 'break', 'eeeeeeee-0000-0000-0000-000000000001') ->> 'status',
          'break', 'a replay returns the stored answer');
select is((select status::text from qms.counters), 'available', 'and changes nothing');
select is(tests.error_of(format('select api.set_counter_status(%L, %L, %L)', :'c', 'closed',
                                'eeeeeeee-0000-0000-0000-000000000001')),
          'PT409 IDEMPOTENCY_KEY_REUSED', 'a request id reused with other arguments is refused');
select is(tests.error_of($$ select worker.purge_idempotency_keys() $$), '42501 ', 'agents cannot purge keys');
select tests.reset_role();

update qms.idempotency_keys set created_at = now() - interval '8 days';
select tests.authenticate_as('qms_worker', '{"role": "qms_worker", "sub": "worker-1"}');
select is(worker.purge_idempotency_keys(), 1, 'the worker purges keys older than 7 days across tenants');
select is(worker.purge_idempotency_keys('1 second'), 0, 'nothing left to purge');
select tests.reset_role();

select * from finish();
rollback;
