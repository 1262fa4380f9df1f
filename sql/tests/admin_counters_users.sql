-- Admin: counters with their services (create/update/list) and staff users (create/update/list).
begin;
set search_path = tests, public;
select plan(62);

-- tests.fx / tests.fxj / tests.error_of come from sql/tests/_helpers.sql.

select set_config('fx.ta', qms.create_tenant('Tenant A', 'tenant-a')::text, true);
select set_config('request.headers', '{"user-agent":"pgtap","x-forwarded-for":"203.0.113.9"}', true);
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));
select set_config('fx.b1', api.create_branch('Main') ->> 'branch_id', true);
select set_config('fx.b2', api.create_branch('Second') ->> 'branch_id', true);
select set_config('fx.a1', api.create_area(tests.fx('b1'), 'Floor 1') ->> 'area_id', true);
select set_config('fx.a2', api.create_area(tests.fx('b2'), 'Floor 1') ->> 'area_id', true);
select set_config('fx.s1', api.create_service(tests.fx('b1'), 'Teller', 'A') ->> 'service_id', true);
select set_config('fx.s2', api.create_service(tests.fx('b1'), 'Loans', 'B') ->> 'service_id', true);
select set_config('fx.s3', api.create_service(tests.fx('b2'), 'Teller', 'A') ->> 'service_id', true);

-- counters ------------------------------------------------------------------------------------------
select set_config('fx.c1j', api.create_counter(tests.fx('b1'), 'Counter 1', array[tests.fx('s2'), tests.fx('s1'),
                                                                                 tests.fx('s1')], tests.fx('a1'))::text,
                  true);
select set_config('fx.c1', tests.fxj('c1j') ->> 'counter_id', true);
select is((select array_agg(k order by k) from jsonb_object_keys(tests.fxj('c1j')) k),
          array['area_id', 'branch_id', 'counter_id', 'created_at', 'is_active', 'name', 'service_ids', 'status',
                'tenant_id', 'updated_at'], 'create_counter returns the counter object');
select is(tests.fxj('c1j') ->> 'status', 'closed', 'a new counter is closed');
select is((select array_agg(x::uuid order by x) from jsonb_array_elements_text(tests.fxj('c1j') -> 'service_ids') x),
          (select array_agg(x order by x) from unnest(array[tests.fx('s1'), tests.fx('s2')]) x),
          'the counter serves the given services (duplicates ignored)');
select is((select count(*)::int from qms.counter_services where counter_id = tests.fx('c1')), 2,
          'the skills are stored in counter_services');
select is((select jsonb_array_length(after -> 'service_ids') || '|' || ip from audit.log
           where action = 'counter.create' and target_id = tests.fx('c1')::text), '2|203.0.113.9',
          'counter.create is audited with the service ids');
select is(jsonb_array_length(api.create_counter(tests.fx('b1'), 'Counter 2', null) -> 'service_ids'), 0,
          'a counter may start without services');
select is(tests.error_of(format($$ select api.create_counter(%L, 'Counter 1', '{}') $$, tests.fx('b1'))),
          'PT409 COUNTER_EXISTS', 'a duplicate counter name in a branch is PT409 COUNTER_EXISTS');
select is(tests.error_of(format($$ select api.create_counter(%L, 'X', array[%L]::uuid[]) $$, tests.fx('b1'),
                                tests.fx('s3'))), 'PT400 SERVICE_NOT_IN_BRANCH',
          'a service of another branch is PT400 SERVICE_NOT_IN_BRANCH');
select is(tests.error_of(format($$ select api.create_counter(%L, 'X', array[gen_random_uuid()]) $$, tests.fx('b1'))),
          'PT404 SERVICE_NOT_FOUND', 'an unknown service is PT404 SERVICE_NOT_FOUND');
select is(tests.error_of(format($$ select api.create_counter(%L, 'X', '{}', %L) $$, tests.fx('b1'), tests.fx('a2'))),
          'PT400 AREA_NOT_IN_BRANCH', 'an area of another branch is refused');
select is(tests.error_of(format($$ select api.create_counter(%L, repeat('x', 101), '{}') $$, tests.fx('b1'))),
          'PT400 INVALID_NAME', 'a counter name is at most 100 characters');
select is(tests.error_of($$ select api.create_counter(gen_random_uuid(), 'X', '{}') $$), 'PT404 BRANCH_NOT_FOUND',
          'a counter of an unknown branch is PT404');
select is((select count(*)::int from qms.counters), 2, 'failed creates changed nothing');

select is((select array_agg(x::uuid) from jsonb_array_elements_text(
              api.update_counter(tests.fx('c1'), name => 'Desk 1', service_ids => array[tests.fx('s2')],
                                 is_active => false) -> 'service_ids') x),
          array[tests.fx('s2')], 'update_counter replaces the services');
select is((select name || '|' || is_active::text from qms.counters where counter_id = tests.fx('c1')), 'Desk 1|false',
          'update_counter renames and deactivates');
select is((select (before -> 'service_ids')::text || ' -> ' || (after -> 'service_ids')::text from audit.log
           where action = 'counter.update' and target_id = tests.fx('c1')::text),
          (select to_jsonb(array_agg(x order by x))::text from unnest(array[tests.fx('s1'), tests.fx('s2')]) x)
              || ' -> ' || to_jsonb(array[tests.fx('s2')])::text,
          'counter.update is audited with the services before and after');
select is(jsonb_array_length(api.update_counter(tests.fx('c1'), name => 'Desk 1') -> 'service_ids'), 1,
          'service_ids null leaves the services alone');
select is(jsonb_array_length(api.update_counter(tests.fx('c1'), service_ids => '{}') -> 'service_ids'), 0,
          'service_ids [] removes every service');
select is(tests.error_of(format($$ select api.update_counter(%L, service_ids => array[%L]::uuid[]) $$, tests.fx('c1'),
                                tests.fx('s3'))), 'PT400 SERVICE_NOT_IN_BRANCH',
          'update_counter refuses services of another branch');
select is(tests.error_of(format($$ select api.update_counter(%L, name => 'Counter 2') $$, tests.fx('c1'))),
          'PT409 COUNTER_EXISTS', 'renaming onto another counter''s name is PT409');
select is(tests.error_of($$ select api.update_counter(gen_random_uuid(), name => 'X') $$), 'PT404 COUNTER_NOT_FOUND',
          'an unknown counter is PT404 COUNTER_NOT_FOUND');
select is(tests.error_of(format($$ select api.update_counter(%L, area_id => %L) $$, tests.fx('c1'), tests.fx('a2'))),
          'PT400 AREA_NOT_IN_BRANCH', 'update_counter checks the area''s branch');
select lives_ok(format($$ select api.update_counter(%L, service_ids => array[%L, %L]::uuid[]) $$, tests.fx('c1'),
                       tests.fx('s1'), tests.fx('s2')), 'services can be mapped again');
select set_config('fx.c3', api.create_counter(tests.fx('b2'), 'Counter 1', array[tests.fx('s3')]) ->> 'counter_id', true);
select is((select jsonb_agg(c ->> 'name' order by c ->> 'name') from jsonb_array_elements(api.list_counters()) c),
          '["Counter 1", "Counter 2", "Desk 1"]'::jsonb, 'list_counters lists the tenant''s counters');
select is((select c -> 'service_ids' || jsonb_build_array(c ->> 'status')
           from jsonb_array_elements(api.list_counters(tests.fx('b2'))) c),
          jsonb_build_array(tests.fx('s3'), 'closed'), 'list_counters filters by branch and shows services and status');

-- users ---------------------------------------------------------------------------------------------
select set_config('fx.u1j', api.create_user(' Agent.One@Example.COM ', 'Agent One', 'agent', array[tests.fx('b1')],
                                            array[tests.fx('c1')])::text, true);
select set_config('fx.u1', tests.fxj('u1j') ->> 'user_id', true);
select is((select array_agg(k order by k) from jsonb_object_keys(tests.fxj('u1j')) k),
          array['branch_ids', 'counter_ids', 'created_at', 'display_name', 'email', 'is_active', 'last_login_at', 'role',
                'tenant_id', 'token_version', 'updated_at', 'user_id'],
          'create_user returns the user object, without password_hash');
select is(tests.fxj('u1j') ->> 'email', 'agent.one@example.com', 'the email is trimmed and lower-cased');
select is(tests.fxj('u1j') -> 'branch_ids', jsonb_build_array(tests.fx('b1')), 'branch_ids are stored');
select is(tests.error_of($$ select password_hash from qms.users $$), '42501 ', 'an admin cannot read password hashes');
select is((select (after ->> 'email') || '|' || actor_sub || '|' || user_agent || '|' || (after ? 'password_hash')::text
           from audit.log where action = 'user.create' and target_id = tests.fx('u1')::text),
          'agent.one@example.com|admin-a|pgtap|false', 'user.create is audited without secrets');
select set_config('fx.u2', api.create_user('boss@example.com', 'Boss', 'admin') ->> 'user_id', true);
select is((select branch_ids from qms.users where user_id = tests.fx('u2')), null, 'an admin may be tenant-wide');
select is(tests.error_of($$ select api.create_user('AGENT.ONE@example.com', 'Again', 'agent', array[gen_random_uuid()]) $$),
          'PT404 BRANCH_NOT_FOUND', 'branch ids must exist in the tenant');
select is(tests.error_of(format($$ select api.create_user('AGENT.ONE@example.com', 'Again', 'agent', array[%L]::uuid[]) $$,
                                tests.fx('b1'))), 'PT409 USER_EXISTS', 'emails are unique case-insensitively');
select is(tests.error_of($$ select api.create_user('sup@example.com', 'Sup', 'supervisor') $$),
          'PT400 BRANCH_SCOPE_REQUIRED', 'a supervisor needs branch_ids');
select is(tests.error_of($$ select api.create_user('an@example.com', 'Analyst', 'analyst', '{}') $$),
          'PT400 BRANCH_SCOPE_REQUIRED', 'an empty branch list is no scope');
select is(tests.error_of($$ select api.create_user('x@example.com', 'X', 'root') $$), 'PT400 INVALID_ROLE',
          'roles are agent, supervisor, admin, analyst');
select is(tests.error_of($$ select api.create_user('not-an-email', 'X', 'admin') $$), 'PT400 INVALID_EMAIL',
          'the email is validated');
select is(tests.error_of($$ select api.create_user(null, 'X', 'admin') $$), 'PT400 INVALID_EMAIL',
          'an email is required');
select is(tests.error_of($$ select api.create_user('x@example.com', ' ', 'admin') $$), 'PT400 INVALID_NAME',
          'a display name is required');
select is(tests.error_of(format($$ select api.create_user('x@example.com', 'X', 'agent', array[%L]::uuid[],
                                                          array[gen_random_uuid()]) $$, tests.fx('b1'))),
          'PT404 COUNTER_NOT_FOUND', 'counter ids must exist');
select is(tests.error_of(format($$ select api.create_user('x@example.com', 'X', 'agent', array[%L]::uuid[],
                                                          array[%L]::uuid[]) $$, tests.fx('b2'), tests.fx('c1'))),
          'PT400 COUNTER_NOT_IN_SCOPE', 'counter ids must be counters of the user''s branches');
select is((select count(*)::int from qms.users), 2, 'failed creates changed nothing');

select is(api.update_user(tests.fx('u1'), display_name => 'Agent Uno') ->> 'token_version', '0',
          'a new display name does not revoke tokens');
select is((select (u ->> 'role') || '|' || (u ->> 'token_version') from
           (select api.update_user(tests.fx('u1'), role => 'supervisor') as u) s), 'supervisor|1',
          'a role change bumps token_version');
select is(api.update_user(tests.fx('u1'), branch_ids => array[tests.fx('b1'), tests.fx('b2')]) ->> 'token_version', '2',
          'a branch change bumps token_version');
select is(api.update_user(tests.fx('u1'), branch_ids => array[tests.fx('b2'), tests.fx('b1')]) ->> 'token_version', '2',
          'the same branches in another order change nothing');
select is((select (u ->> 'is_active') || '|' || (u ->> 'token_version') from
           (select api.update_user(tests.fx('u1'), is_active => false) as u) s), 'false|3',
          'disabling a user bumps token_version');
select is((select (before ->> 'is_active') || ' -> ' || (after ->> 'is_active') from audit.log
           where action = 'user.update' and target_id = tests.fx('u1')::text order by seq desc limit 1),
          'true -> false', 'user.update is audited with before and after');
select is(api.update_user(tests.fx('u1'), counter_ids => '{}') -> 'counter_ids', 'null'::jsonb,
          'counter_ids [] clears the counter restriction');
select is(tests.error_of(format($$ select api.update_user(%L, branch_ids => '{}') $$, tests.fx('u1'))),
          'PT400 BRANCH_SCOPE_REQUIRED', 'a supervisor cannot lose every branch');
select is(tests.error_of(format($$ select api.update_user(%L, email => 'BOSS@example.com') $$, tests.fx('u1'))),
          'PT409 USER_EXISTS', 'taking another user''s email is PT409');
select is(tests.error_of(format($$ select api.update_user(%L, role => 'janitor') $$, tests.fx('u1'))),
          'PT400 INVALID_ROLE', 'update_user validates the role');
select is(tests.error_of($$ select api.update_user(gen_random_uuid(), display_name => 'X') $$), 'PT404 USER_NOT_FOUND',
          'an unknown user is PT404 USER_NOT_FOUND');
select is((select role || '|' || token_version from qms.users where user_id = tests.fx('u1')), 'supervisor|4',
          'failed updates changed nothing');
select is((select jsonb_agg(u ->> 'email') from jsonb_array_elements(api.list_users()) u),
          '["agent.one@example.com", "boss@example.com"]'::jsonb, 'list_users lists the tenant''s users by email');
select is((select count(*)::int from jsonb_array_elements(api.list_users()) u where u ? 'password_hash'), 0,
          'list_users never shows password_hash');

-- scope ---------------------------------------------------------------------------------------------
select tests.authenticate_as('qms_supervisor', tests.claims('qms_supervisor', tests.fx('ta'), array[tests.fx('b2')]));
select is((select jsonb_agg(u ->> 'email') from jsonb_array_elements(api.list_users()) u),
          '["agent.one@example.com"]'::jsonb, 'a supervisor lists only users of their branches');
select is((select jsonb_agg(c ->> 'name') from jsonb_array_elements(api.list_counters()) c), '["Counter 1"]'::jsonb,
          'a supervisor lists only counters of their branches');
select is(tests.error_of(format($$ select api.update_user(%L, display_name => 'X') $$, tests.fx('u1'))), '42501 ',
          'a supervisor may not execute update_user');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), array[tests.fx('b2')]));
select is(tests.error_of($$ select api.create_user('wide@example.com', 'Wide', 'admin') $$), 'PT403 FORBIDDEN',
          'a branch-scoped admin cannot create a tenant-wide admin');
select is(tests.error_of(format($$ select api.create_user('x@example.com', 'X', 'agent', array[%L]::uuid[]) $$,
                                tests.fx('b1'))), 'PT404 BRANCH_NOT_FOUND',
          'a branch-scoped admin cannot give branches outside their scope');
select is(tests.error_of(format($$ select api.update_user(%L, display_name => 'X') $$, tests.fx('u2'))),
          'PT404 USER_NOT_FOUND', 'a branch-scoped admin cannot update a tenant-wide admin');
select tests.reset_role();

select * from finish();
rollback;
