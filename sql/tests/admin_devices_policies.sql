-- Admin: devices (create/update/list, heartbeat) and queue policies (set/get, qms.effective_policy).
begin;
set search_path = tests, public;
select plan(61);

-- tests.fx / tests.fxj / tests.error_of come from sql/tests/_helpers.sql.

select set_config('fx.ta', qms.create_tenant('Tenant A', 'tenant-a')::text, true);
select set_config('request.headers', '{"user-agent":"pgtap","x-forwarded-for":"203.0.113.9"}', true);
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));
select set_config('fx.b1', api.create_branch('Main') ->> 'branch_id', true);
select set_config('fx.b2', api.create_branch('Second') ->> 'branch_id', true);
select set_config('fx.a1', api.create_area(tests.fx('b1'), 'Hall') ->> 'area_id', true);
select set_config('fx.a2', api.create_area(tests.fx('b2'), 'Hall') ->> 'area_id', true);
select set_config('fx.s1', api.create_service(tests.fx('b1'), 'Teller', 'A') ->> 'service_id', true);
select set_config('fx.s2', api.create_service(tests.fx('b1'), 'Loans', 'B') ->> 'service_id', true);
select set_config('fx.s3', api.create_service(tests.fx('b2'), 'Teller', 'A') ->> 'service_id', true);

-- devices -------------------------------------------------------------------------------------------
select set_config('fx.d1j', api.create_device(tests.fx('b1'), 'kiosk', 'Kiosk 1', tests.fx('a1'),
                                              '{"language": "id"}')::text, true);
select set_config('fx.d1', tests.fxj('d1j') ->> 'device_id', true);
select is((select array_agg(k order by k) from jsonb_object_keys(tests.fxj('d1j')) k),
          array['area_id', 'branch_id', 'config', 'config_version', 'created_at', 'device_id', 'kind', 'last_seen_at',
                'name', 'online', 'status', 'tenant_id', 'token_version', 'updated_at'],
          'create_device returns the device object');
select is(tests.fxj('d1j') - 'device_id' - 'tenant_id' - 'created_at' - 'updated_at',
          jsonb_build_object('branch_id', tests.fx('b1'), 'area_id', tests.fx('a1'), 'kind', 'kiosk', 'name', 'Kiosk 1',
                             'status', 'active', 'token_version', 0, 'config_version', 1,
                             'config', '{"language": "id"}'::jsonb, 'last_seen_at', null, 'online', false),
          'a new device is active, never seen, config version 1');
select is((select (after ->> 'kind') || '|' || ip || '|' || user_agent from audit.log
           where action = 'device.create' and target_id = tests.fx('d1')::text), 'kiosk|203.0.113.9|pgtap',
          'device.create is audited');
select set_config('fx.d2', api.create_device(tests.fx('b2'), 'display', 'Board') ->> 'device_id', true);
select is((select config::text from qms.devices where device_id = tests.fx('d2')), '{}', 'config defaults to {}');
select is(tests.error_of(format($$ select api.create_device(%L, 'kiosk', 'Kiosk 1') $$, tests.fx('b1'))),
          'PT409 DEVICE_EXISTS', 'a duplicate device name in a branch is PT409 DEVICE_EXISTS');
select is(tests.error_of(format($$ select api.create_device(%L, 'tablet', 'T') $$, tests.fx('b1'))),
          'PT400 INVALID_DEVICE_KIND', 'kind is kiosk or display');
select is(tests.error_of(format($$ select api.create_device(%L, 'kiosk', '') $$, tests.fx('b1'))),
          'PT400 INVALID_NAME', 'a device needs a name');
select is(tests.error_of(format($$ select api.create_device(%L, 'kiosk', 'K', config => '[1]') $$, tests.fx('b1'))),
          'PT400 INVALID_CONFIG', 'config must be an object');
select is(tests.error_of(format($$ select api.create_device(%L, 'kiosk', 'K', %L) $$, tests.fx('b1'), tests.fx('a2'))),
          'PT400 AREA_NOT_IN_BRANCH', 'the area must be of the same branch');
select is(tests.error_of($$ select api.create_device(gen_random_uuid(), 'kiosk', 'K') $$), 'PT404 BRANCH_NOT_FOUND',
          'a device of an unknown branch is PT404');
select is((select count(*)::int from qms.devices), 2, 'failed creates changed nothing');

select is((select (d ->> 'config_version') || '|' || (d ->> 'token_version') || '|' || (d ->> 'name') from
           (select api.update_device(tests.fx('d1'), name => 'Kiosk A', config => '{"language": "en"}') as d) s),
          '2|0|Kiosk A', 'a new config bumps config_version');
select is(api.update_device(tests.fx('d1'), config => '{"language": "en"}') ->> 'config_version', '2',
          'the same config again bumps nothing');
select is((select (before -> 'config' ->> 'language') || ' -> ' || (after -> 'config' ->> 'language') from audit.log
           where action = 'device.update' and target_id = tests.fx('d1')::text order by seq limit 1), 'id -> en',
          'device.update is audited with before and after');
select is(tests.error_of(format($$ select api.update_device(%L, status => 'broken') $$, tests.fx('d1'))),
          'PT400 INVALID_DEVICE_STATUS', 'status is pending, active or revoked');
select is(tests.error_of(format($$ select api.update_device(%L, config => '"x"') $$, tests.fx('d1'))),
          'PT400 INVALID_CONFIG', 'update_device validates config');
select is(tests.error_of($$ select api.update_device(gen_random_uuid(), name => 'X') $$), 'PT404 DEVICE_NOT_FOUND',
          'an unknown device is PT404 DEVICE_NOT_FOUND');
select is(tests.error_of(format($$ select api.update_device(%L, area_id => %L) $$, tests.fx('d1'), tests.fx('a2'))),
          'PT400 AREA_NOT_IN_BRANCH', 'update_device checks the area''s branch');
select set_config('fx.d3', api.create_device(tests.fx('b1'), 'display', 'Board 1') ->> 'device_id', true);
select is(tests.error_of(format($$ select api.update_device(%L, name => 'Board 1') $$, tests.fx('d1'))),
          'PT409 DEVICE_EXISTS', 'renaming onto another device''s name is PT409');

-- heartbeat, as the device itself
select tests.authenticate_as('qms_device', tests.claims('qms_device', tests.fx('ta'), array[tests.fx('b1')],
                                                        tests.fx('d1')::text));
select is(api.device_heartbeat(), jsonb_build_object('device_id', tests.fx('d1'), 'config_version', 2,
                                                     'config', '{"language": "en"}'::jsonb),
          'device_heartbeat returns the device''s config and its version');
select is(tests.error_of($$ select api.update_device(current_setting('fx.d1')::uuid, name => 'Mine') $$), '42501 ',
          'a device cannot update itself through update_device');
select tests.authenticate_as('qms_device', tests.claims('qms_device', tests.fx('ta'), array[tests.fx('b1')],
                                                        gen_random_uuid()::text));
select is(tests.error_of($$ select api.device_heartbeat() $$), 'PT404 DEVICE_NOT_FOUND',
          'a heartbeat of an unknown device is PT404');
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('ta'), array[tests.fx('b1')],
                                                       tests.fx('d1')::text));
select is(tests.error_of($$ select api.device_heartbeat() $$), '42501 ', 'only devices may send heartbeats');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));
select is((select (d ->> 'online') || '|' || (d ->> 'last_seen_at' is not null)::text
           from jsonb_array_elements(api.list_devices()) d where d ->> 'device_id' = tests.fx('d1')::text),
          'true|true', 'after a heartbeat the device is listed online');
select is((select d ->> 'online' from jsonb_array_elements(api.list_devices()) d
           where d ->> 'device_id' = tests.fx('d3')::text), 'false', 'a device never seen is offline');
select is((select jsonb_agg(d ->> 'name') from jsonb_array_elements(api.list_devices(tests.fx('b2'))) d),
          '["Board"]'::jsonb, 'list_devices filters by branch');
select is((select (d ->> 'status') || '|' || (d ->> 'token_version') from
           (select api.update_device(tests.fx('d1'), status => 'revoked') as d) s), 'revoked|1',
          'revoking a device bumps token_version');
select is(api.update_device(tests.fx('d1'), status => 'revoked') ->> 'token_version', '1',
          'revoking again bumps nothing');
select tests.authenticate_as('qms_device', tests.claims('qms_device', tests.fx('ta'), array[tests.fx('b1')],
                                                        tests.fx('d1')::text));
select is(tests.error_of($$ select api.device_heartbeat() $$), 'PT409 DEVICE_REVOKED',
          'a revoked device''s heartbeat is refused');
select tests.reset_role();
select isnt((select last_seen_at from qms.devices where device_id = tests.fx('d1')), null,
            'the heartbeat recorded last_seen_at');

-- policies ------------------------------------------------------------------------------------------
select is(qms.effective_policy(tests.fx('ta'), tests.fx('b1'), tests.fx('s1')),
          '{"called_grace_seconds": 120, "return_to_queue": false, "priority_ratio": 3,
            "number_format": "{prefix}-{n:03}", "cancel_from": ["waiting", "held"], "notify_ahead": 3}'::jsonb,
          'without policies the defaults apply');
select is((select provolatile::text || '|' || prosecdef::text from pg_proc
           where oid = 'qms.effective_policy(uuid, uuid, uuid)'::regprocedure), 's|true',
          'effective_policy is stable and security definer');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));
select set_config('fx.p1j', api.set_policy(tests.fx('b1'), policy => '{"called_grace_seconds": 60,
                                           "cancel_from": ["waiting"], "return_to_queue": true}')::text, true);
select is(tests.fxj('p1j') -> 'policy', '{"called_grace_seconds": 60, "cancel_from": ["waiting"],
                                          "return_to_queue": true}'::jsonb, 'set_policy stores the branch policy');
select is((select array_agg(k order by k) from jsonb_object_keys(tests.fxj('p1j')) k),
          array['branch_id', 'effective', 'policy', 'policy_id', 'service_id', 'tenant_id', 'updated_at'],
          'set_policy returns the policy object with the effective policy');
select is(tests.fxj('p1j') -> 'effective' ->> 'priority_ratio', '3', 'the effective policy keeps the defaults');
select is(api.set_policy(tests.fx('b1'), tests.fx('s1'), '{"priority_ratio": 5, "number_format": "{prefix}{n:04}",
                                                          "notify_ahead": 0}') -> 'policy',
          '{"priority_ratio": 5, "number_format": "{prefix}{n:04}", "notify_ahead": 0}'::jsonb,
          'set_policy stores a service override');
select is(api.get_policy(tests.fx('b1'), tests.fx('s1')),
          '{"called_grace_seconds": 60, "return_to_queue": true, "priority_ratio": 5, "number_format": "{prefix}{n:04}",
            "cancel_from": ["waiting"], "notify_ahead": 0}'::jsonb,
          'get_policy merges defaults, branch and service');
select is(api.get_policy(tests.fx('b1'), tests.fx('s2')) ->> 'priority_ratio', '3',
          'another service of the branch gets the branch policy');
select is(api.get_policy(tests.fx('b1')) ->> 'called_grace_seconds', '60', 'get_policy of the branch');
select is(api.set_policy(tests.fx('b1'), tests.fx('s1'), '{"priority_ratio": null, "called_grace_seconds": 30}')
              -> 'policy',
          '{"number_format": "{prefix}{n:04}", "notify_ahead": 0, "called_grace_seconds": 30}'::jsonb,
          'set_policy merges, and a null value removes a key');
select is(qms.effective_policy(tests.fx('ta'), tests.fx('b1'), tests.fx('s1')) ->> 'priority_ratio', '3',
          'a removed key falls back to the level below');
select is((select (before -> 'policy' ->> 'priority_ratio') || ' -> ' || coalesce(after -> 'policy' ->> 'priority_ratio',
                                                                                   'removed') || '|' || actor_sub
           from audit.log where action = 'policy.set' order by seq desc limit 1), '5 -> removed|admin-a',
          'policy.set is audited with before and after');
select is(tests.error_of(format($$ select api.set_policy(%L, policy => '{"grace": 1}') $$, tests.fx('b1'))),
          'PT400 UNKNOWN_POLICY_KEY', 'an unknown key is PT400 UNKNOWN_POLICY_KEY');
select is(tests.error_of(format($$ select api.set_policy(%L, policy => '{"called_grace_seconds": "60"}') $$,
                                tests.fx('b1'))), 'PT400 INVALID_POLICY_VALUE', 'an int given as text is refused');
select is(tests.error_of(format($$ select api.set_policy(%L, policy => '{"called_grace_seconds": 86401}') $$,
                                tests.fx('b1'))), 'PT400 INVALID_POLICY_VALUE', 'called_grace_seconds is 0..86400');
select is(tests.error_of(format($$ select api.set_policy(%L, policy => '{"priority_ratio": 0}') $$, tests.fx('b1'))),
          'PT400 INVALID_POLICY_VALUE', 'priority_ratio is 1..100');
select is(tests.error_of(format($$ select api.set_policy(%L, policy => '{"priority_ratio": 2.5}') $$, tests.fx('b1'))),
          'PT400 INVALID_POLICY_VALUE', 'priority_ratio is an integer');
select is(tests.error_of(format($$ select api.set_policy(%L, policy => '{"notify_ahead": 101}') $$, tests.fx('b1'))),
          'PT400 INVALID_POLICY_VALUE', 'notify_ahead is 0..100');
select is(tests.error_of(format($$ select api.set_policy(%L, policy => '{"return_to_queue": "yes"}') $$,
                                tests.fx('b1'))), 'PT400 INVALID_POLICY_VALUE', 'return_to_queue is a boolean');
select is(tests.error_of(format($$ select api.set_policy(%L, policy => '{"number_format": "{prefix}-"}') $$,
                                tests.fx('b1'))), 'PT400 INVALID_POLICY_VALUE', 'number_format needs {n}');
select is(tests.error_of(format($$ select api.set_policy(%L, policy => '{"number_format": "{n}-{x}"}') $$,
                                tests.fx('b1'))), 'PT400 INVALID_POLICY_VALUE', 'number_format knows only {prefix} and {n}');
select is(tests.error_of(format($$ select api.set_policy(%L, policy => '{"cancel_from": ["waiting", "lost"]}') $$,
                                tests.fx('b1'))), 'PT400 INVALID_POLICY_VALUE', 'cancel_from lists ticket states');
select is(tests.error_of(format($$ select api.set_policy(%L, policy => '{"cancel_from": "waiting"}') $$,
                                tests.fx('b1'))), 'PT400 INVALID_POLICY_VALUE', 'cancel_from is an array');
select is(tests.error_of(format($$ select api.set_policy(%L, policy => '[]') $$, tests.fx('b1'))),
          'PT400 INVALID_POLICY', 'the policy is an object');
select is(tests.error_of(format($$ select api.set_policy(%L, %L, '{}') $$, tests.fx('b1'), tests.fx('s3'))),
          'PT400 SERVICE_NOT_IN_BRANCH', 'a service of another branch is refused');
select is(tests.error_of(format($$ select api.set_policy(%L, gen_random_uuid(), '{}') $$, tests.fx('b1'))),
          'PT404 SERVICE_NOT_FOUND', 'an unknown service is PT404');
select is(tests.error_of($$ select api.set_policy(gen_random_uuid(), policy => '{}') $$), 'PT404 BRANCH_NOT_FOUND',
          'an unknown branch is PT404');
select is(tests.error_of(format($$ select api.get_policy(%L, %L) $$, tests.fx('b2'), tests.fx('s1'))),
          'PT400 SERVICE_NOT_IN_BRANCH', 'get_policy checks the service''s branch');
select is(api.get_policy(tests.fx('b1')) ->> 'called_grace_seconds', '60', 'failed set_policy calls changed nothing');
select tests.authenticate_as('qms_supervisor', tests.claims('qms_supervisor', tests.fx('ta'), array[tests.fx('b1')]));
select is(tests.error_of(format($$ select api.set_policy(%L, policy => '{}') $$, tests.fx('b1'))), '42501 ',
          'a supervisor may not execute set_policy');
select is(tests.error_of(format($$ select api.get_policy(%L) $$, tests.fx('b2'))), 'PT404 BRANCH_NOT_FOUND',
          'a supervisor cannot read the policy of another branch');
select tests.reset_role();

select * from finish();
rollback;
