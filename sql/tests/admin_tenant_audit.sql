-- Admin: the tenant (get/update) and the audit trail reader (list_audit_logs).
begin;
set search_path = tests, public;
select plan(30);

-- tests.fx / tests.fxj / tests.error_of come from sql/tests/_helpers.sql.

select set_config('fx.ta', qms.create_tenant('Tenant A', 'tenant-a')::text, true);
select set_config('request.headers', '{"user-agent":"pgtap","x-forwarded-for":"203.0.113.9"}', true);
select set_config('fx.tb', qms.create_tenant('Tenant B', 'tenant-b')::text, true);

-- tenant --------------------------------------------------------------------------------------------
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));
select is((select array_agg(k order by k) from jsonb_object_keys(api.get_tenant()) k),
          array['branding', 'created_at', 'features', 'is_active', 'name', 'pii_policy', 'slug', 'tenant_id'],
          'get_tenant returns the tenant object');
select is(api.get_tenant() ->> 'slug', 'tenant-a', 'get_tenant returns the caller''s tenant');
select is(api.update_tenant(' Bank A ', '{"primary_color": "#0a5"}', '{"virtual_queue": true}')
              - 'tenant_id' - 'created_at',
          '{"name": "Bank A", "slug": "tenant-a", "branding": {"primary_color": "#0a5"},
            "features": {"virtual_queue": true}, "pii_policy": {"contacts": false, "retention_days": 0},
            "is_active": true}'::jsonb, 'update_tenant changes name, branding and features');
select is(api.update_tenant(name => 'Bank A2') -> 'branding', '{"primary_color": "#0a5"}'::jsonb,
          'null leaves a field unchanged');
select is((select (before ->> 'name') || ' -> ' || (after ->> 'name') || '|' || ip from audit.log
           where action = 'tenant.update' order by seq desc limit 1), 'Bank A -> Bank A2|203.0.113.9',
          'tenant.update is audited with before and after');
select is(tests.error_of($$ select api.update_tenant(branding => '"blue"') $$), 'PT400 INVALID_BRANDING',
          'branding is an object');
select is(tests.error_of($$ select api.update_tenant(features => '[]') $$), 'PT400 INVALID_FEATURES',
          'features is an object');
select is(tests.error_of($$ select api.update_tenant(name => '') $$), 'PT400 INVALID_NAME', 'the name is validated');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), array[gen_random_uuid()]));
select is(tests.error_of($$ select api.update_tenant(name => 'Mine') $$), 'PT403 FORBIDDEN',
          'a branch-scoped admin cannot change the tenant');
select tests.authenticate_as('qms_supervisor', tests.claims('qms_supervisor', tests.fx('ta'), array[gen_random_uuid()]));
select is(api.get_tenant() ->> 'name', 'Bank A2', 'a supervisor reads the tenant');
select is(tests.error_of($$ select api.update_tenant(name => 'Mine') $$), '42501 ',
          'a supervisor may not execute update_tenant');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('tb'), null, 'admin-b'));
select is(api.get_tenant() ->> 'slug', 'tenant-b', 'tenant B''s admin reads only tenant B');
select lives_ok($$ select api.update_tenant(name => 'Bank B') $$, 'tenant B''s admin updates tenant B');
select tests.reset_role();
select is((select name from qms.tenants where tenant_id = tests.fx('ta')), 'Bank A2',
          'tenant B''s update did not touch tenant A');

-- audit trail ---------------------------------------------------------------------------------------
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));
select set_config('fx.b1', api.create_branch('Main') ->> 'branch_id', true);
select set_config('fx.b2', api.create_branch('Second') ->> 'branch_id', true);
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-x'));
select api.create_area(tests.fx('b2'), 'Hall');
select is((select jsonb_agg(l ->> 'action') from jsonb_array_elements(api.list_audit_logs()) l),
          '["area.create", "branch.create", "branch.create", "tenant.update", "tenant.update"]'::jsonb,
          'list_audit_logs returns the tenant''s entries, newest first');
select is((select array_agg(k order by k) from jsonb_object_keys(api.list_audit_logs(max_rows => 1) -> 0) k),
          array['action', 'actor_role', 'actor_sub', 'after', 'before', 'created_at', 'ip', 'request_id', 'seq',
                'target_id', 'target_type', 'tenant_id', 'user_agent'], 'an entry carries who, what, when and where');
select is((select (l ->> 'ip') || '|' || (l ->> 'user_agent') || '|' || (l ->> 'actor_sub')
           from jsonb_array_elements(api.list_audit_logs(max_rows => 1)) l), '203.0.113.9|pgtap|admin-x',
          'an entry carries ip, user agent and actor');
select is(jsonb_array_length(api.list_audit_logs(max_rows => 2)), 2, 'max_rows limits the answer');
select is(jsonb_array_length(api.list_audit_logs(action => 'branch')), 2, 'action filters by family');
select is(jsonb_array_length(api.list_audit_logs(action => 'branch.create')), 2, 'action filters exactly');
select is(jsonb_array_length(api.list_audit_logs(action => 'branch.cre')), 0, 'action is not a prefix match');
select is((select jsonb_agg(l ->> 'action') from jsonb_array_elements(api.list_audit_logs(actor => 'admin-x')) l),
          '["area.create"]'::jsonb, 'actor filters by actor_sub');
select is(jsonb_array_length(api.list_audit_logs(from_ts => now() + interval '1 hour')), 0, 'from_ts filters');
select is(jsonb_array_length(api.list_audit_logs(to_ts => now() - interval '1 hour')), 0, 'to_ts filters');
select is(tests.error_of($$ select api.list_audit_logs(max_rows => 0) $$), 'PT400 INVALID_MAX_ROWS',
          'max_rows is at least 1');
select is(tests.error_of($$ select api.list_audit_logs(max_rows => 1001) $$), 'PT400 INVALID_MAX_ROWS',
          'max_rows is at most 1000');
select is(tests.error_of($$ select api.list_audit_logs(now(), now() - interval '1 day') $$), 'PT400 INVALID_RANGE',
          'from_ts after to_ts is PT400 INVALID_RANGE');
select tests.authenticate_as('qms_supervisor', tests.claims('qms_supervisor', tests.fx('ta'), array[tests.fx('b2')]));
select is((select jsonb_agg(l ->> 'action') from jsonb_array_elements(api.list_audit_logs()) l),
          '["area.create", "branch.create"]'::jsonb, 'a supervisor sees only entries about their branches');
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('ta'), array[tests.fx('b2')]));
select is(tests.error_of($$ select api.list_audit_logs() $$), '42501 ', 'an agent may not read the audit trail');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('tb'), null, 'admin-b'));
select is((select jsonb_agg(l ->> 'action') from jsonb_array_elements(api.list_audit_logs()) l),
          '["tenant.update"]'::jsonb, 'tenant B''s admin sees only tenant B''s entries');
select tests.reset_role();

select * from finish();
rollback;
