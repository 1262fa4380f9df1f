-- Admin RLS boundaries: under tenant B's claims nothing of tenant A is visible or changeable, through every
-- admin function and directly on every configuration table; branch-scoped staff see only their branches.
begin;
set search_path = tests, public;
select plan(73);

-- tests.fx / tests.fxj / tests.error_of come from sql/tests/_helpers.sql.

select set_config('fx.ta', qms.create_tenant('Tenant A', 'tenant-a')::text, true);
select set_config('request.headers', '{"user-agent":"pgtap","x-forwarded-for":"203.0.113.9"}', true);
select set_config('fx.tb', qms.create_tenant('Tenant B', 'tenant-b')::text, true);

-- tenant A: one of everything, in two branches
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));
select set_config('fx.b1', api.create_branch('A Main', code => 'AM') ->> 'branch_id', true);
select set_config('fx.b2', api.create_branch('A Second') ->> 'branch_id', true);
select set_config('fx.a1', api.create_area(tests.fx('b1'), 'A Hall') ->> 'area_id', true);
select set_config('fx.a2', api.create_area(tests.fx('b2'), 'A Hall 2') ->> 'area_id', true);
select set_config('fx.s1', api.create_service(tests.fx('b1'), 'A Teller', 'A') ->> 'service_id', true);
select set_config('fx.s2', api.create_service(tests.fx('b2'), 'A Loans', 'L') ->> 'service_id', true);
select set_config('fx.c1', api.create_counter(tests.fx('b1'), 'A Counter', array[tests.fx('s1')]) ->> 'counter_id', true);
select set_config('fx.c2', api.create_counter(tests.fx('b2'), 'A Counter 2', array[tests.fx('s2')]) ->> 'counter_id', true);
select set_config('fx.u1', api.create_user('agent@a.example', 'A Agent', 'agent', array[tests.fx('b1')]) ->> 'user_id', true);
select set_config('fx.u2', api.create_user('agent2@a.example', 'A Agent 2', 'agent', array[tests.fx('b2')]) ->> 'user_id', true);
select set_config('fx.d1', api.create_device(tests.fx('b1'), 'kiosk', 'A Kiosk') ->> 'device_id', true);
select set_config('fx.d2', api.create_device(tests.fx('b2'), 'display', 'A Board') ->> 'device_id', true);
select api.set_policy(tests.fx('b1'), policy => '{"priority_ratio": 7}');
select api.set_policy(tests.fx('b2'), tests.fx('s2'), '{"notify_ahead": 9}');
-- tenant B: a branch and a service of its own
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('tb'), null, 'admin-b'));
select set_config('fx.bb', api.create_branch('B Main') ->> 'branch_id', true);
select set_config('fx.sb', api.create_service(tests.fx('bb'), 'B Teller', 'A') ->> 'service_id', true);

-- list_* and get_* under tenant B ---------------------------------------------------------------------
select is((select jsonb_agg(b ->> 'name') from jsonb_array_elements(api.list_branches()) b), '["B Main"]'::jsonb,
          'B: list_branches shows none of A''s branches');
select is(jsonb_array_length(api.list_areas()), 0, 'B: list_areas shows none of A''s areas');
select is((select jsonb_agg(s ->> 'name') from jsonb_array_elements(api.list_services()) s), '["B Teller"]'::jsonb,
          'B: list_services shows none of A''s services');
select is(jsonb_array_length(api.list_counters()), 0, 'B: list_counters shows none of A''s counters');
select is(jsonb_array_length(api.list_users()), 0, 'B: list_users shows none of A''s users');
select is(jsonb_array_length(api.list_devices()), 0, 'B: list_devices shows none of A''s devices');
select is((select count(*)::int from jsonb_array_elements(api.list_audit_logs()) l where l ->> 'actor_sub' = 'admin-a'),
          0, 'B: list_audit_logs shows none of A''s entries');
select is(api.get_tenant() ->> 'tenant_id', tests.fx('tb')::text, 'B: get_tenant is tenant B');
select is(tests.error_of(format($$ select api.get_branch(%L) $$, tests.fx('b1'))), 'PT404 BRANCH_NOT_FOUND',
          'B: get_branch of A''s branch is PT404');
select is(tests.error_of(format($$ select api.list_areas(%L) $$, tests.fx('b1'))), 'PT404 BRANCH_NOT_FOUND',
          'B: list_areas of A''s branch is PT404');
select is(tests.error_of(format($$ select api.list_services(%L) $$, tests.fx('b1'))), 'PT404 BRANCH_NOT_FOUND',
          'B: list_services of A''s branch is PT404');
select is(tests.error_of(format($$ select api.list_counters(%L) $$, tests.fx('b1'))), 'PT404 BRANCH_NOT_FOUND',
          'B: list_counters of A''s branch is PT404');
select is(tests.error_of(format($$ select api.list_devices(%L) $$, tests.fx('b1'))), 'PT404 BRANCH_NOT_FOUND',
          'B: list_devices of A''s branch is PT404');
select is(tests.error_of(format($$ select api.get_policy(%L) $$, tests.fx('b1'))), 'PT404 BRANCH_NOT_FOUND',
          'B: get_policy of A''s branch is PT404');

-- create_* / update_* / set_* with A's ids under tenant B ----------------------------------------------
select is(tests.error_of(format($$ select api.update_branch(%L, name => 'Stolen') $$, tests.fx('b1'))),
          'PT404 BRANCH_NOT_FOUND', 'B: update_branch of A''s branch is PT404');
select is(tests.error_of(format($$ select api.create_area(%L, 'Stolen') $$, tests.fx('b1'))),
          'PT404 BRANCH_NOT_FOUND', 'B: create_area in A''s branch is PT404');
select is(tests.error_of(format($$ select api.update_area(%L, name => 'Stolen') $$, tests.fx('a1'))),
          'PT404 AREA_NOT_FOUND', 'B: update_area of A''s area is PT404');
select is(tests.error_of(format($$ select api.create_service(%L, 'Stolen', 'S') $$, tests.fx('b1'))),
          'PT404 BRANCH_NOT_FOUND', 'B: create_service in A''s branch is PT404');
select is(tests.error_of(format($$ select api.create_service(%L, 'Stolen', 'S', area_id => %L) $$, tests.fx('bb'),
                                tests.fx('a1'))), 'PT404 AREA_NOT_FOUND', 'B: A''s area cannot be used in B');
select is(tests.error_of(format($$ select api.update_service(%L, name => 'Stolen') $$, tests.fx('s1'))),
          'PT404 SERVICE_NOT_FOUND', 'B: update_service of A''s service is PT404');
select is(tests.error_of(format($$ select api.create_counter(%L, 'Stolen', '{}') $$, tests.fx('b1'))),
          'PT404 BRANCH_NOT_FOUND', 'B: create_counter in A''s branch is PT404');
select is(tests.error_of(format($$ select api.create_counter(%L, 'Mixed', array[%L]::uuid[]) $$, tests.fx('bb'),
                                tests.fx('s1'))), 'PT404 SERVICE_NOT_FOUND', 'B: A''s services cannot be mapped in B');
select is(tests.error_of(format($$ select api.update_counter(%L, name => 'Stolen') $$, tests.fx('c1'))),
          'PT404 COUNTER_NOT_FOUND', 'B: update_counter of A''s counter is PT404');
select is(tests.error_of(format($$ select api.create_user('spy@b.example', 'Spy', 'agent', array[%L]::uuid[]) $$,
                                tests.fx('b1'))), 'PT404 BRANCH_NOT_FOUND', 'B: create_user scoped to A''s branch is PT404');
select is(tests.error_of(format($$ select api.create_user('spy@b.example', 'Spy', 'agent', array[%L]::uuid[],
                                                          array[%L]::uuid[]) $$, tests.fx('bb'), tests.fx('c1'))),
          'PT404 COUNTER_NOT_FOUND', 'B: create_user with A''s counter is PT404');
select is(tests.error_of(format($$ select api.update_user(%L, is_active => false) $$, tests.fx('u1'))),
          'PT404 USER_NOT_FOUND', 'B: update_user of A''s user is PT404');
select lives_ok($$ select api.create_user('agent@a.example', 'Same email, other tenant', 'admin') $$,
                'B: an email used in tenant A is free in tenant B');
select is(tests.error_of(format($$ select api.create_device(%L, 'kiosk', 'Stolen') $$, tests.fx('b1'))),
          'PT404 BRANCH_NOT_FOUND', 'B: create_device in A''s branch is PT404');
select is(tests.error_of(format($$ select api.update_device(%L, status => 'revoked') $$, tests.fx('d1'))),
          'PT404 DEVICE_NOT_FOUND', 'B: update_device of A''s device is PT404');
select is(tests.error_of(format($$ select api.set_policy(%L, policy => '{"priority_ratio": 1}') $$, tests.fx('b1'))),
          'PT404 BRANCH_NOT_FOUND', 'B: set_policy on A''s branch is PT404');
select is(tests.error_of(format($$ select api.set_policy(%L, %L, '{"priority_ratio": 1}') $$, tests.fx('bb'),
                                tests.fx('s1'))), 'PT404 SERVICE_NOT_FOUND', 'B: set_policy on A''s service is PT404');
select lives_ok($$ select api.update_tenant(name => 'B renamed') $$, 'B: update_tenant changes tenant B only');
select tests.authenticate_as('qms_device', tests.claims('qms_device', tests.fx('tb'), array[tests.fx('b1')],
                                                        tests.fx('d1')::text));
select is(tests.error_of($$ select api.device_heartbeat() $$), 'PT404 DEVICE_NOT_FOUND',
          'B: a heartbeat for A''s device under B''s claims is PT404');

-- direct table access under tenant B ------------------------------------------------------------------
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('tb'), null, 'admin-b'));
select is((select count(*)::int from qms.tenants where tenant_id = tests.fx('ta')), 0, 'B: qms.tenants hides A');
select is((select count(*)::int from qms.branches where tenant_id = tests.fx('ta')), 0, 'B: qms.branches hides A');
select is((select count(*)::int from qms.areas where tenant_id = tests.fx('ta')), 0, 'B: qms.areas hides A');
select is((select count(*)::int from qms.services where tenant_id = tests.fx('ta')), 0, 'B: qms.services hides A');
select is((select count(*)::int from qms.counters where tenant_id = tests.fx('ta')), 0, 'B: qms.counters hides A');
select is((select count(*)::int from qms.counter_services where tenant_id = tests.fx('ta')), 0,
          'B: qms.counter_services hides A');
select is((select count(*)::int from qms.users where tenant_id = tests.fx('ta')), 0, 'B: qms.users hides A');
select is((select count(*)::int from qms.devices where tenant_id = tests.fx('ta')), 0, 'B: qms.devices hides A');
select is((select count(*)::int from qms.policies where tenant_id = tests.fx('ta')), 0, 'B: qms.policies hides A');
select is((select count(*)::int from audit.log where tenant_id = tests.fx('ta')), 0, 'B: audit.log hides A');
select is(qms.effective_policy(tests.fx('tb'), tests.fx('b1'), null) ->> 'priority_ratio', '3',
          'B: effective_policy under B''s tenant id never mixes in A''s policy');
select is(tests.error_of(format($$ update qms.branches set name = 'Stolen' where branch_id = %L returning 1 $$,
                                tests.fx('b1'))), 'no error', 'B: a direct update of A''s branch runs...');
select is(tests.error_of(format($$ insert into qms.branches (tenant_id, name) values (%L, 'Planted') $$,
                                tests.fx('ta'))), '42501 ', 'B: a direct insert into tenant A is refused');
select is(tests.error_of(format($$ insert into qms.policies (tenant_id, branch_id) values (%L, %L) $$,
                                tests.fx('ta'), tests.fx('b2'))), '42501 ', 'B: a direct policy insert into A is refused');
select is(tests.error_of(format($$ delete from qms.devices where device_id = %L $$, tests.fx('d1'))), 'no error',
          'B: a direct delete of A''s device runs...');

-- A's rows are unchanged (as the owner) -------------------------------------------------------------------
select tests.reset_role();
select is((select string_agg(name, ',' order by name) from qms.branches where tenant_id = tests.fx('ta')),
          'A Main,A Second', '...and A''s branches are unchanged');
select is((select count(*)::int from qms.devices where tenant_id = tests.fx('ta') and status = 'active'), 2,
          '...and A''s devices are still there and active');
select is((select name from qms.areas where area_id = tests.fx('a1')), 'A Hall', 'A''s area is unchanged');
select is((select name from qms.services where service_id = tests.fx('s1')), 'A Teller', 'A''s service is unchanged');
select is((select name from qms.counters where counter_id = tests.fx('c1')), 'A Counter', 'A''s counter is unchanged');
select is((select is_active::text || token_version from qms.users where user_id = tests.fx('u1')), 'true0',
          'A''s user is unchanged');
select is((select policy from qms.policies where branch_id = tests.fx('b1') and service_id is null),
          '{"priority_ratio": 7}'::jsonb, 'A''s policy is unchanged');
select is((select name from qms.tenants where tenant_id = tests.fx('ta')), 'Tenant A', 'tenant A is unchanged');
select is((select count(*)::int from audit.log where tenant_id = tests.fx('ta') and actor_sub = 'admin-b'), 0,
          'B''s attempts left no entry in A''s audit trail');
select is((select count(*)::int from qms.branches where name = 'Planted'), 0, 'nothing was planted in tenant A');

-- branch scope inside tenant A: staff of branch 1 see only branch 1 -------------------------------------------
select tests.authenticate_as('qms_supervisor', tests.claims('qms_supervisor', tests.fx('ta'), array[tests.fx('b1')]));
select is((select jsonb_agg(x ->> 'name') from jsonb_array_elements(api.list_branches()) x), '["A Main"]'::jsonb,
          'supervisor of branch 1: list_branches');
select is((select jsonb_agg(x ->> 'name') from jsonb_array_elements(api.list_areas()) x), '["A Hall"]'::jsonb,
          'supervisor of branch 1: list_areas');
select is((select jsonb_agg(x ->> 'name') from jsonb_array_elements(api.list_services()) x), '["A Teller"]'::jsonb,
          'supervisor of branch 1: list_services');
select is((select jsonb_agg(x ->> 'name') from jsonb_array_elements(api.list_counters()) x), '["A Counter"]'::jsonb,
          'supervisor of branch 1: list_counters');
select is((select jsonb_agg(x ->> 'email') from jsonb_array_elements(api.list_users()) x), '["agent@a.example"]'::jsonb,
          'supervisor of branch 1: list_users');
select is((select jsonb_agg(x ->> 'name') from jsonb_array_elements(api.list_devices()) x), '["A Kiosk"]'::jsonb,
          'supervisor of branch 1: list_devices');
select is(tests.error_of(format($$ select api.get_policy(%L, %L) $$, tests.fx('b2'), tests.fx('s2'))),
          'PT404 BRANCH_NOT_FOUND', 'supervisor of branch 1: get_policy of branch 2 is PT404');
select is((select count(*)::int from qms.branches) + (select count(*)::int from qms.areas)
          + (select count(*)::int from qms.services) + (select count(*)::int from qms.counters)
          + (select count(*)::int from qms.counter_services) + (select count(*)::int from qms.devices)
          + (select count(*)::int from qms.policies), 7,
          'supervisor of branch 1: the tables show one row each, all of branch 1');
select is((select count(*)::int from qms.branches where branch_id = tests.fx('b2')), 0,
          'supervisor of branch 1: branch 2 is invisible in the table');
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('ta'), array[tests.fx('b2')]));
select is((select jsonb_agg(x ->> 'name') from jsonb_array_elements(api.list_counters()) x), '["A Counter 2"]'::jsonb,
          'agent of branch 2: list_counters');
select is((select jsonb_agg(x ->> 'name') from jsonb_array_elements(api.list_services()) x), '["A Loans"]'::jsonb,
          'agent of branch 2: list_services');
select is(api.get_policy(tests.fx('b2'), tests.fx('s2')) ->> 'notify_ahead', '9', 'agent of branch 2: get_policy');
select is(tests.error_of(format($$ select api.list_counters(%L) $$, tests.fx('b1'))), 'PT404 BRANCH_NOT_FOUND',
          'agent of branch 2: counters of branch 1 are PT404');
select is((select count(*)::int from qms.users), 0, 'agent of branch 2: other users are invisible');
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('ta')));
select is(jsonb_array_length(api.list_branches()), 0, 'an agent without branch_ids sees no branch');
select tests.reset_role();

select * from finish();
rollback;
