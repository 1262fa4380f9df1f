-- Admin: qms.require_role and branches (create/update/list/get), their errors, audit rows and scope.
begin;
set search_path = tests, public;
select plan(52);

-- tests.fx / tests.fxj / tests.error_of come from sql/tests/_helpers.sql.

select set_config('fx.ta', qms.create_tenant('Tenant A', 'tenant-a')::text, true);
select set_config('request.headers', '{"user-agent":"pgtap","x-forwarded-for":"203.0.113.9"}', true);

-- qms.require_role -------------------------------------------------------------------------------
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('ta'), array[gen_random_uuid()]));
select is(tests.error_of($$ select qms.require_role('qms_admin') $$), 'PT403 FORBIDDEN',
          'require_role refuses a role that is not listed');
select lives_ok($$ select qms.require_role('qms_admin', 'qms_agent') $$, 'require_role accepts a listed role');
select is(tests.error_of($$ select qms.require_role(variadic null::text[]) $$), 'PT403 FORBIDDEN',
          'require_role with no roles refuses everyone');
select tests.reset_role();
select is(tests.error_of($$ select qms.require_role('qms_admin') $$), 'PT403 FORBIDDEN',
          'the owner without set role is refused too');

-- create_branch: the happy path ------------------------------------------------------------------
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));
select set_config('fx.b1j', api.create_branch('  Main Office ', 'Asia/Jakarta', 'MAIN', 'Jl. Sudirman 1',
                                              '{"mon": [["08:00","12:00"], ["13:00","15:00"]], "sat": []}')::text, true);
select set_config('fx.b1', tests.fxj('b1j') ->> 'branch_id', true);
select is((select array_agg(k order by k) from jsonb_object_keys(tests.fxj('b1j')) k),
          array['address', 'branch_id', 'code', 'created_at', 'hours', 'is_active', 'name', 'tenant_id', 'timezone',
                'updated_at'], 'create_branch returns the branch object');
select is(tests.fxj('b1j') ->> 'name', 'Main Office', 'the name is trimmed');
select is(tests.fxj('b1j') ->> 'tenant_id', tests.fx('ta')::text, 'the branch belongs to the caller''s tenant');
select is(tests.fxj('b1j') -> 'hours', '{"mon": [["08:00","12:00"], ["13:00","15:00"]], "sat": []}'::jsonb,
          'opening hours are stored');
select is(tests.fxj('b1j') ->> 'timezone', 'Asia/Jakarta', 'timezone is stored');
select set_config('fx.b2', api.create_branch('Second') ->> 'branch_id', true);
select is((select timezone || '|' || hours::text || '|' || coalesce(code, 'null') from qms.branches
           where branch_id = tests.fx('b2')), 'UTC|{}|null', 'defaults: UTC, always open, no code');

-- the audit row of create_branch
select is((select jsonb_build_object('actor_sub', actor_sub, 'actor_role', actor_role, 'target_type', target_type,
                                     'ip', ip, 'user_agent', user_agent, 'before', before, 'name', after ->> 'name')
           from audit.log where action = 'branch.create' and target_id = tests.fx('b1')::text),
          '{"actor_sub": "admin-a", "actor_role": "qms_admin", "target_type": "branch", "ip": "203.0.113.9",
            "user_agent": "pgtap", "before": null, "name": "Main Office"}'::jsonb,
          'branch.create is audited with actor, ip, user agent and after');

-- create_branch: every error, and nothing changes --------------------------------------------------
select is(tests.error_of($$ select api.create_branch(null) $$), 'PT400 INVALID_NAME', 'a name is required');
select is(tests.error_of($$ select api.create_branch('   ') $$), 'PT400 INVALID_NAME', 'a blank name is refused');
select is(tests.error_of($$ select api.create_branch(repeat('x', 201)) $$), 'PT400 INVALID_NAME',
          'a name longer than 200 characters is refused');
select is(tests.error_of($$ select api.create_branch('X', 'Mars/Olympus') $$), 'PT400 INVALID_TIMEZONE',
          'an unknown timezone is refused');
select is(tests.error_of($$ select api.create_branch('X', null) $$), 'PT400 INVALID_TIMEZONE',
          'a null timezone is refused');
select is(tests.error_of($$ select api.create_branch('X', 'UTC', 'bad code!') $$), 'PT400 INVALID_CODE',
          'a code with spaces or symbols is refused');
select is(tests.error_of($$ select api.create_branch('X', 'UTC', null, repeat('a', 501)) $$), 'PT400 INVALID_ADDRESS',
          'an address longer than 500 characters is refused');
select is(tests.error_of($$ select api.create_branch('X', hours => '[]') $$), 'PT400 INVALID_HOURS',
          'hours must be an object');
select is(tests.error_of($$ select api.create_branch('X', hours => '{"monday": []}') $$), 'PT400 INVALID_HOURS',
          'hours keys are mon..sun');
select is(tests.error_of($$ select api.create_branch('X', hours => '{"mon": [["8:00", "15:00"]]}') $$),
          'PT400 INVALID_HOURS', 'hours are HH:MM');
select is(tests.error_of($$ select api.create_branch('X', hours => '{"mon": [["15:00", "08:00"]]}') $$),
          'PT400 INVALID_HOURS', 'a slot cannot end before it starts');
select is(tests.error_of($$ select api.create_branch('X', hours => '{"mon": [["08:00", "12:00"], ["11:00", "15:00"]]}') $$),
          'PT400 INVALID_HOURS', 'overlapping slots are refused');
select is(tests.error_of($$ select api.create_branch('X', hours => '{"mon": ["08:00-15:00"]}') $$),
          'PT400 INVALID_HOURS', 'a slot is a pair');
select is(tests.error_of($$ select api.create_branch('Dup', 'UTC', 'MAIN') $$), 'PT409 BRANCH_EXISTS',
          'a duplicate code is PT409 BRANCH_EXISTS');
select is((select count(*)::int from qms.branches), 2, 'failed creates changed nothing');
select is((select count(*)::int from audit.log where action = 'branch.create'), 2, 'failed creates wrote no audit row');

-- update_branch ------------------------------------------------------------------------------------
select set_config('fx.u1', api.update_branch(tests.fx('b1'), name => 'Main', timezone => 'Asia/Makassar',
                                             hours => '{}', is_active => false)::text, true);
select is(tests.fxj('u1') ->> 'name', 'Main', 'update_branch renames');
select is((select timezone || '|' || hours::text || '|' || is_active::text || '|' || code from qms.branches
           where branch_id = tests.fx('b1')), 'Asia/Makassar|{}|false|MAIN', 'changed fields change, others stay');
select is((select before ->> 'name' || ' -> ' || (after ->> 'name') from audit.log
           where action = 'branch.update' and target_id = tests.fx('b1')::text),
          'Main Office -> Main', 'branch.update is audited with before and after');
select is(api.update_branch(tests.fx('b1'), code => '') ->> 'code', null, 'an empty code clears it');
select is(api.update_branch(tests.fx('b1'), address => '') ->> 'address', null, 'an empty address clears it');
select is(api.update_branch(tests.fx('b1'), code => 'MAIN', is_active => true) ->> 'code', 'MAIN',
          'a code can be set again');
select is(tests.error_of($$ select api.update_branch(gen_random_uuid(), name => 'X') $$), 'PT404 BRANCH_NOT_FOUND',
          'an unknown branch is PT404 BRANCH_NOT_FOUND');
select is(tests.error_of(format($$ select api.update_branch(%L, code => 'MAIN') $$, tests.fx('b2'))),
          'PT409 BRANCH_EXISTS', 'taking another branch''s code is PT409 BRANCH_EXISTS');
select is(tests.error_of(format($$ select api.update_branch(%L, timezone => 'Nowhere/City') $$, tests.fx('b2'))),
          'PT400 INVALID_TIMEZONE', 'update validates the timezone');
select is(tests.error_of(format($$ select api.update_branch(%L, name => '') $$, tests.fx('b2'))),
          'PT400 INVALID_NAME', 'update validates the name');
select is(tests.error_of(format($$ select api.update_branch(%L, hours => '{"sun": [["10:00"]]}') $$, tests.fx('b2'))),
          'PT400 INVALID_HOURS', 'update validates the hours');
select is((select name || '|' || timezone || '|' || coalesce(code, 'null') from qms.branches
           where branch_id = tests.fx('b2')), 'Second|UTC|null', 'failed updates changed nothing');

-- list_branches / get_branch -------------------------------------------------------------------------
select is((select array_agg(b ->> 'name' order by b ->> 'name') from jsonb_array_elements(api.list_branches()) b),
          array['Main', 'Second'], 'a tenant-wide admin lists every branch of the tenant');
select is(api.get_branch(tests.fx('b2')) ->> 'name', 'Second', 'get_branch returns one branch');
select is(tests.error_of($$ select api.get_branch(gen_random_uuid()) $$), 'PT404 BRANCH_NOT_FOUND',
          'get_branch of an unknown id is PT404');

-- roles and scope ----------------------------------------------------------------------------------
select tests.reset_role();
select set_config('request.jwt.claims', tests.claims('qms_admin', tests.fx('ta'))::text, true);
select is(tests.error_of($$ select api.create_branch('Owner') $$), 'PT403 FORBIDDEN',
          'the owner with admin claims but without set role is refused by require_role');
select tests.authenticate_as('qms_admin', '{}');
select is(tests.error_of($$ select api.create_branch('No tenant') $$), 'PT401 TENANT_REQUIRED',
          'an admin without a tenant claim is PT401 TENANT_REQUIRED');
select tests.authenticate_as('qms_supervisor', tests.claims('qms_supervisor', tests.fx('ta'), array[tests.fx('b1')]));
select is(tests.error_of($$ select api.create_branch('Sup') $$),
          '42501 ', 'a supervisor may not execute create_branch');
select is(tests.error_of(format($$ select api.update_branch(%L, name => 'Sup') $$, tests.fx('b1'))), '42501 ',
          'a supervisor may not execute update_branch');
select is((select array_agg(b ->> 'name') from jsonb_array_elements(api.list_branches()) b), array['Main'],
          'a branch-scoped supervisor lists only their branch');
select is(tests.error_of(format($$ select api.get_branch(%L) $$, tests.fx('b2'))), 'PT404 BRANCH_NOT_FOUND',
          'a branch-scoped supervisor cannot read another branch');
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('ta'), array[tests.fx('b2')]));
select is((select array_agg(b ->> 'name') from jsonb_array_elements(api.list_branches()) b), array['Second'],
          'a branch-scoped agent lists only their branch');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), array[tests.fx('b1')]));
select is(tests.error_of(format($$ select api.update_branch(%L, name => 'Hijack') $$, tests.fx('b2'))),
          'PT404 BRANCH_NOT_FOUND', 'a branch-scoped admin cannot update a branch outside their scope');
select is(tests.error_of($$ select api.create_branch('Scoped') $$), 'PT403 FORBIDDEN',
          'a branch-scoped admin cannot create branches');
select tests.reset_role();
select is((select name from qms.branches where branch_id = tests.fx('b2')), 'Second',
          'the out-of-scope branch is unchanged');

select * from finish();
rollback;
