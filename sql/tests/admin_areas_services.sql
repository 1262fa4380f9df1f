-- Admin: areas and services (create/update/list), their errors, audit rows and branch scope.
begin;
set search_path = tests, public;
select plan(46);

-- tests.fx / tests.fxj / tests.error_of come from sql/tests/_helpers.sql.

select set_config('fx.ta', qms.create_tenant('Tenant A', 'tenant-a')::text, true);
select set_config('request.headers', '{"user-agent":"pgtap","x-forwarded-for":"203.0.113.9"}', true);
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));
select set_config('fx.b1', api.create_branch('Main') ->> 'branch_id', true);
select set_config('fx.b2', api.create_branch('Second') ->> 'branch_id', true);

-- areas ---------------------------------------------------------------------------------------------
select set_config('fx.a1j', api.create_area(tests.fx('b1'), ' Floor 1 ')::text, true);
select set_config('fx.a1', tests.fxj('a1j') ->> 'area_id', true);
select is((select array_agg(k order by k) from jsonb_object_keys(tests.fxj('a1j')) k),
          array['area_id', 'branch_id', 'created_at', 'is_active', 'name', 'tenant_id', 'updated_at'],
          'create_area returns the area object');
select is(tests.fxj('a1j') ->> 'name', 'Floor 1', 'the area name is trimmed');
select set_config('fx.a2', api.create_area(tests.fx('b2'), 'Floor 1') ->> 'area_id', true);
select isnt(tests.fx('a2'), null, 'the same area name may be used in another branch');
select is((select actor_sub || '|' || ip || '|' || user_agent || '|' || (after ->> 'name') from audit.log
           where action = 'area.create' and target_id = tests.fx('a1')::text),
          'admin-a|203.0.113.9|pgtap|Floor 1', 'area.create is audited');
select is(tests.error_of(format($$ select api.create_area(%L, 'Floor 1') $$, tests.fx('b1'))), 'PT409 AREA_EXISTS',
          'a duplicate area name in a branch is PT409 AREA_EXISTS');
select is(tests.error_of(format($$ select api.create_area(%L, '') $$, tests.fx('b1'))), 'PT400 INVALID_NAME',
          'an area needs a name');
select is(tests.error_of($$ select api.create_area(gen_random_uuid(), 'Lost') $$), 'PT404 BRANCH_NOT_FOUND',
          'an area of an unknown branch is PT404 BRANCH_NOT_FOUND');
select set_config('fx.a3', api.create_area(tests.fx('b1'), 'Floor 2') ->> 'area_id', true);
select is(api.update_area(tests.fx('a3'), name => 'Mezzanine', is_active => false) - 'created_at' - 'updated_at'
              - 'area_id' - 'tenant_id',
          jsonb_build_object('branch_id', tests.fx('b1'), 'name', 'Mezzanine', 'is_active', false),
          'update_area renames and deactivates');
select is((select before ->> 'name' || ' -> ' || (after ->> 'name') from audit.log
           where action = 'area.update' and target_id = tests.fx('a3')::text), 'Floor 2 -> Mezzanine',
          'area.update is audited with before and after');
select is(tests.error_of(format($$ select api.update_area(%L, name => 'Floor 1') $$, tests.fx('a3'))),
          'PT409 AREA_EXISTS', 'renaming onto an existing area name is PT409');
select is(tests.error_of($$ select api.update_area(gen_random_uuid(), name => 'X') $$), 'PT404 AREA_NOT_FOUND',
          'an unknown area is PT404 AREA_NOT_FOUND');
select is(tests.error_of(format($$ select api.update_area(%L, name => ' ') $$, tests.fx('a3'))),
          'PT400 INVALID_NAME', 'update_area validates the name');
select is((select array_agg(a ->> 'name' order by a ->> 'name') from jsonb_array_elements(api.list_areas()) a),
          array['Floor 1', 'Floor 1', 'Mezzanine'], 'list_areas lists the tenant''s areas');
select is(jsonb_array_length(api.list_areas(tests.fx('b2'))), 1, 'list_areas filters by branch');
select is(tests.error_of($$ select api.list_areas(gen_random_uuid()) $$), 'PT404 BRANCH_NOT_FOUND',
          'list_areas of an unknown branch is PT404');

-- services ------------------------------------------------------------------------------------------
select set_config('fx.s1j', api.create_service(tests.fx('b1'), 'Teller', 'a')::text, true);
select set_config('fx.s1', tests.fxj('s1j') ->> 'service_id', true);
select is((select array_agg(k order by k) from jsonb_object_keys(tests.fxj('s1j')) k),
          array['area_id', 'branch_id', 'capacity', 'code', 'created_at', 'hours', 'is_active', 'name', 'prefix',
                'service_id', 'sla_minutes', 'tenant_id', 'updated_at'], 'create_service returns the service object');
select is(tests.fxj('s1j') ->> 'prefix', 'A', 'the prefix is upper-cased');
select is((tests.fxj('s1j') ->> 'sla_minutes')::int, 15, 'sla_minutes defaults to 15');
select set_config('fx.s2j', api.create_service(tests.fx('b1'), 'Customer Service', 'CS', 20, 'cs-1', 80,
                                               '{"fri": [["08:00","11:30"]]}', tests.fx('a1'))::text, true);
select set_config('fx.s2', tests.fxj('s2j') ->> 'service_id', true);
select is(tests.fxj('s2j') - 'service_id' - 'tenant_id' - 'created_at' - 'updated_at',
          jsonb_build_object('branch_id', tests.fx('b1'), 'name', 'Customer Service', 'prefix', 'CS', 'sla_minutes', 20,
                             'code', 'cs-1', 'capacity', 80, 'hours', '{"fri": [["08:00","11:30"]]}'::jsonb,
                             'area_id', tests.fx('a1'), 'is_active', true), 'every optional field is stored');
select is((select actor_role || '|' || (after ->> 'prefix') from audit.log
           where action = 'service.create' and target_id = tests.fx('s2')::text), 'qms_admin|CS',
          'service.create is audited');
select is(tests.error_of(format($$ select api.create_service(%L, 'Teller', 'T') $$, tests.fx('b1'))),
          'PT409 SERVICE_EXISTS', 'a duplicate service name in a branch is PT409 SERVICE_EXISTS');
select is(tests.error_of(format($$ select api.create_service(%L, null, 'T') $$, tests.fx('b1'))),
          'PT400 INVALID_NAME', 'a service needs a name');
select is(tests.error_of(format($$ select api.create_service(%L, 'X', null) $$, tests.fx('b1'))),
          'PT400 INVALID_PREFIX', 'a service needs a prefix');
select is(tests.error_of(format($$ select api.create_service(%L, 'X', 'A-1') $$, tests.fx('b1'))),
          'PT400 INVALID_PREFIX', 'a prefix is 1 to 4 letters or digits');
select is(tests.error_of(format($$ select api.create_service(%L, 'X', 'X', 0) $$, tests.fx('b1'))),
          'PT400 INVALID_SLA', 'sla_minutes must be positive');
select is(tests.error_of(format($$ select api.create_service(%L, 'X', 'X', 15, null, 0) $$, tests.fx('b1'))),
          'PT400 INVALID_CAPACITY', 'capacity must be positive');
select is(tests.error_of(format($$ select api.create_service(%L, 'X', 'X', code => 'a b') $$, tests.fx('b1'))),
          'PT400 INVALID_CODE', 'the service code is validated');
select is(tests.error_of(format($$ select api.create_service(%L, 'X', 'X', hours => '{"mon": "all day"}') $$,
                                tests.fx('b1'))), 'PT400 INVALID_HOURS', 'service hours are validated');
select is(tests.error_of(format($$ select api.create_service(%L, 'X', 'X', area_id => %L) $$, tests.fx('b1'),
                                tests.fx('a2'))), 'PT400 AREA_NOT_IN_BRANCH', 'the area must be of the same branch');
select is(tests.error_of(format($$ select api.create_service(%L, 'X', 'X', area_id => gen_random_uuid()) $$,
                                tests.fx('b1'))), 'PT404 AREA_NOT_FOUND', 'an unknown area is PT404');
select is(tests.error_of($$ select api.create_service(gen_random_uuid(), 'X', 'X') $$), 'PT404 BRANCH_NOT_FOUND',
          'a service of an unknown branch is PT404');
select is((select count(*)::int from qms.services), 2, 'failed creates changed nothing');

select is(api.update_service(tests.fx('s1'), name => 'Tellers', prefix => 't', sla_minutes => 30, code => 'TL',
                             capacity => 200, hours => '{"mon": [["09:00","10:00"]]}', area_id => tests.fx('a1'),
                             is_active => false)
              - 'service_id' - 'tenant_id' - 'created_at' - 'updated_at',
          jsonb_build_object('branch_id', tests.fx('b1'), 'name', 'Tellers', 'prefix', 'T', 'sla_minutes', 30,
                             'code', 'TL', 'capacity', 200, 'hours', '{"mon": [["09:00","10:00"]]}'::jsonb,
                             'area_id', tests.fx('a1'), 'is_active', false), 'update_service changes every field');
select is((select (before ->> 'prefix') || ' -> ' || (after ->> 'prefix') from audit.log
           where action = 'service.update' and target_id = tests.fx('s1')::text), 'A -> T',
          'service.update is audited with before and after');
select is(tests.error_of(format($$ select api.update_service(%L, name => 'Customer Service') $$, tests.fx('s1'))),
          'PT409 SERVICE_EXISTS', 'renaming onto another service''s name is PT409');
select is(tests.error_of($$ select api.update_service(gen_random_uuid(), name => 'X') $$), 'PT404 SERVICE_NOT_FOUND',
          'an unknown service is PT404 SERVICE_NOT_FOUND');
select is(tests.error_of(format($$ select api.update_service(%L, sla_minutes => 5000) $$, tests.fx('s1'))),
          'PT400 INVALID_SLA', 'update_service validates sla_minutes');
select is(tests.error_of(format($$ select api.update_service(%L, area_id => %L) $$, tests.fx('s1'), tests.fx('a2'))),
          'PT400 AREA_NOT_IN_BRANCH', 'update_service checks the area''s branch');
select is((select sla_minutes from qms.services where service_id = tests.fx('s1')), 30,
          'failed updates changed nothing');
select set_config('fx.s3', api.create_service(tests.fx('b2'), 'Loans', 'L') ->> 'service_id', true);
select is(jsonb_array_length(api.list_services()), 3, 'list_services lists the tenant''s services');
select is((select array_agg(s ->> 'name') from jsonb_array_elements(api.list_services(tests.fx('b2'))) s),
          array['Loans'], 'list_services filters by branch');

-- scope -----------------------------------------------------------------------------------------------
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('ta'), array[tests.fx('b2')]));
select is((select array_agg(s ->> 'name') from jsonb_array_elements(api.list_services()) s), array['Loans'],
          'an agent lists only the services of their branch');
select is(tests.error_of(format($$ select api.list_services(%L) $$, tests.fx('b1'))), 'PT404 BRANCH_NOT_FOUND',
          'an agent cannot list the services of another branch');
select is(tests.error_of(format($$ select api.create_service(%L, 'Mine', 'M') $$, tests.fx('b2'))), '42501 ',
          'an agent may not create services');
select tests.authenticate_as('qms_supervisor', tests.claims('qms_supervisor', tests.fx('ta'), array[tests.fx('b1')]));
select is((select array_agg(a ->> 'name' order by a ->> 'name') from jsonb_array_elements(api.list_areas()) a),
          array['Floor 1', 'Mezzanine'], 'a supervisor lists only the areas of their branch');
select tests.authenticate_as('qms_device', tests.claims('qms_device', tests.fx('ta'), array[tests.fx('b2')]));
select is((select array_agg(s ->> 'name') from jsonb_array_elements(api.list_services()) s), array['Loans'],
          'a kiosk lists the services of its branch');
select tests.reset_role();

select * from finish();
rollback;
