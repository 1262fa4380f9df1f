-- The admin console's own functions: api.set_user_password (hash stored, sessions ended, scope, audit),
-- api.explain_policy (effective value and its source) and api.list_audit_logs' target filter.
begin;
set search_path = tests, public;
select plan(23);

select set_config('fx.ta', qms.create_tenant('Tenant A', 'tenant-a')::text, true);
select set_config('fx.tb', qms.create_tenant('Tenant B', 'tenant-b')::text, true);
select set_config('fx.hash', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA', true);
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('tb'), null, 'admin-b'));
select set_config('fx.ub', api.create_user('b@example.org', 'B', 'admin') ->> 'user_id', true);
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));
select set_config('fx.b1', api.create_branch('Main') ->> 'branch_id', true);
select set_config('fx.b2', api.create_branch('Second') ->> 'branch_id', true);
select set_config('fx.s1', api.create_service(tests.fx('b1'), 'Teller', 'A') ->> 'service_id', true);
select set_config('fx.s3', api.create_service(tests.fx('b2'), 'Teller', 'A') ->> 'service_id', true);
select set_config('fx.u1', api.create_user('agent@example.org', 'Agent', 'agent', array[tests.fx('b1')]) ->> 'user_id', true);
select set_config('fx.u2', api.create_user('agent2@example.org', 'Agent 2', 'agent', array[tests.fx('b2')]) ->> 'user_id', true);
select tests.reset_role();
insert into qms.refresh_tokens (tenant_id, token_hash, family_id, user_id, expires_at)
values (tests.fx('ta'), sha256('t1'), gen_random_uuid(), tests.fx('u1'), now() + interval '1 day');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));

-- set_user_password --------------------------------------------------------------------------------
select is(api.set_user_password(tests.fx('u1'), current_setting('fx.hash')) - 'user_id',
          '{"password_set": true, "token_version": 1}'::jsonb, 'set_user_password answers with the new token_version');
select tests.reset_role();
select is((select password_hash from qms.users where user_id = tests.fx('u1')), current_setting('fx.hash'),
          'the hash is stored');
select ok((select revoked_at is not null from qms.refresh_tokens where user_id = tests.fx('u1')),
          'the user''s refresh tokens are revoked (sessions end)');
select is((select (after ->> 'password_set') || '|' || actor_sub from audit.log
           where action = 'user.password' and target_id = tests.fx('u1')::text), 'true|admin-a',
          'a password change is audited, without the hash');
select ok((select position('argon2' in coalesce(after::text, '') || coalesce(before::text, '')) = 0 from audit.log
           where action = 'user.password'), 'no hash in the audit entry');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));
select is(tests.error_of(format($$ select api.set_user_password(%L, 'secret') $$, tests.fx('u1'))),
          'PT400 INVALID_PASSWORD_HASH', 'a clear-text password is refused');
select is(tests.error_of(format($$ select api.set_user_password(%L, %L) $$, tests.fx('ub'), current_setting('fx.hash'))),
          'PT404 USER_NOT_FOUND', 'a user of another tenant is not found');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), array[tests.fx('b1')], 'admin-b1'));
select is(tests.error_of(format($$ select api.set_user_password(%L, %L) $$, tests.fx('u2'), current_setting('fx.hash'))),
          'PT404 USER_NOT_FOUND', 'a branch-scoped admin cannot reach a user of another branch');
select tests.authenticate_as('qms_supervisor', tests.claims('qms_supervisor', tests.fx('ta'), array[tests.fx('b1')]));
select is(tests.error_of(format($$ select api.set_user_password(%L, %L) $$, tests.fx('u1'), current_setting('fx.hash'))),
          '42501 ', 'a supervisor may not execute set_user_password');
select is(tests.error_of(format($$ select qms.admin_store_password_hash(%L, %L) $$, tests.fx('u1'), current_setting('fx.hash'))),
          '42501 ', 'nor the definer behind it');
select tests.authenticate_as('qms_admin', tests.claims('qms_supervisor', tests.fx('ta'), array[tests.fx('b1')]));
select is(tests.error_of(format($$ select qms.admin_store_password_hash(%L, %L) $$, tests.fx('u1'), current_setting('fx.hash'))),
          'PT403 FORBIDDEN', 'the definer checks the role claim too');

-- explain_policy -------------------------------------------------------------------------------------
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));
select is(api.explain_policy(tests.fx('b1')) -> 'source',
          '{"called_grace_seconds": "default", "return_to_queue": "default", "priority_ratio": "default",
            "number_format": "default", "cancel_from": "default", "notify_ahead": "default"}'::jsonb,
          'a branch without a policy: every key from the defaults');
select lives_ok(format($$ select api.set_policy(%L, null, '{"called_grace_seconds": 90, "notify_ahead": 5}') $$, tests.fx('b1')),
                'branch policy set');
select lives_ok(format($$ select api.set_policy(%L, %L, '{"notify_ahead": 2}') $$, tests.fx('b1'), tests.fx('s1')),
                'service override set');
select is((select (e -> 'source' ->> 'called_grace_seconds') || '|' || (e -> 'source' ->> 'notify_ahead') || '|'
                  || (e -> 'source' ->> 'priority_ratio') || '|' || (e -> 'effective' ->> 'notify_ahead') || '|'
                  || (e -> 'effective' ->> 'called_grace_seconds')
           from (select api.explain_policy(tests.fx('b1'), tests.fx('s1')) as e) x),
          'branch|service|default|2|90', 'a service: each key from the nearest level that sets it');
select is(api.explain_policy(tests.fx('b1'), tests.fx('s1')) -> 'effective',
          api.get_policy(tests.fx('b1'), tests.fx('s1')), 'the effective value is get_policy''s');
select is(api.explain_policy(tests.fx('b1')) -> 'source' ->> 'notify_ahead', 'branch',
          'the branch view ignores service overrides');
select is(tests.error_of(format($$ select api.explain_policy(%L, %L) $$, tests.fx('b1'), tests.fx('s3'))),
          'PT400 SERVICE_NOT_IN_BRANCH', 'a service of another branch');
select is(tests.error_of($$ select api.explain_policy(gen_random_uuid()) $$), 'PT404 BRANCH_NOT_FOUND',
          'an unknown branch');
select tests.authenticate_as('qms_agent', tests.claims('qms_agent', tests.fx('ta'), array[tests.fx('b1')]));
select is(tests.error_of(format($$ select api.explain_policy(%L) $$, tests.fx('b1'))), '42501 ',
          'an agent may not execute explain_policy');

-- list_audit_logs target -----------------------------------------------------------------------------
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));
select is((select jsonb_agg(distinct l ->> 'target_type') from jsonb_array_elements(api.list_audit_logs(target => 'policy')) l),
          '["policy"]'::jsonb, 'target filters by target type');
select is((select jsonb_agg(l ->> 'action') from jsonb_array_elements(api.list_audit_logs(target => tests.fx('u1')::text)) l),
          '["user.password", "user.create"]'::jsonb, 'target filters by target id');

-- A supervisor's counter intervention is in the audit log the supervisor reads (branch-scoped).
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta'), null, 'admin-a'));
select set_config('fx.c1', api.create_counter(tests.fx('b1'), 'Desk 1', array[tests.fx('s1')]) ->> 'counter_id', true);
select tests.authenticate_as('qms_supervisor', tests.claims('qms_supervisor', tests.fx('ta'), array[tests.fx('b1')], 'sup-1'));
select api.set_counter_status(tests.fx('c1'), 'break');
select is((select (l -> 'before' ->> 'status') || ' -> ' || (l -> 'after' ->> 'status') || ' by ' || (l ->> 'actor_sub')
           from jsonb_array_elements(api.list_audit_logs(target => 'counter')) l where l ->> 'action' = 'counter.status'),
          'closed -> break by sup-1', 'a supervisor sees its own counter intervention in the audit log');

select * from finish();
rollback;
