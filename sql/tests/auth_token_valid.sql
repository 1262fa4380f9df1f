-- qms.auth_token_valid: the gateway's per-request revocation check (users, devices, workers, tokens without
-- tv), and the device last_seen_at it records. Called as the owner (grants: auth_grants_rls.sql).
begin;
set search_path = tests, public;
select plan(49);

-- fixtures (as the owner) ------------------------------------------------------------------------------
select set_config('fx.ta', qms.create_tenant('Tenant A', 'tenant-a')::text, true);
select set_config('fx.tb', qms.create_tenant('Tenant B', 'tenant-b')::text, true);
select set_config('fx.b1', tests.add_branch(tests.fx('ta'), 'A Main')::text, true),
       set_config('fx.bb', tests.add_branch(tests.fx('tb'), 'B Main')::text, true);
select set_config('fx.agent', tests.add_user(tests.fx('ta'), 'agent@a.example', 'agent', array[tests.fx('b1')])::text, true),
       set_config('fx.admin', tests.add_user(tests.fx('ta'), 'admin@a.example', 'admin')::text, true),
       set_config('fx.off', tests.add_user(tests.fx('ta'), 'off@a.example', 'supervisor', array[tests.fx('b1')])::text, true),
       set_config('fx.ub', tests.add_user(tests.fx('tb'), 'agent@b.example', 'agent', array[tests.fx('bb')])::text, true);
select set_config('fx.kiosk', tests.add_device(tests.fx('ta'), tests.fx('b1'), 'kiosk', 'Kiosk')::text, true),
       set_config('fx.pending', tests.add_device(tests.fx('ta'), tests.fx('b1'), 'display', 'Board')::text, true),
       set_config('fx.revoked', tests.add_device(tests.fx('ta'), tests.fx('b1'), 'kiosk', 'Old kiosk')::text, true),
       set_config('fx.kb', tests.add_device(tests.fx('tb'), tests.fx('bb'), 'kiosk', 'B Kiosk')::text, true);
-- agent: token_version 2 (revoked twice); off: disabled (1); kiosk: active at 1; pending: 0; revoked: revoked (1).
select is(array[tests.revoke_user_tokens(tests.fx('ta'), tests.fx('agent'), 2),
                tests.revoke_user_tokens(tests.fx('ta'), tests.fx('off'), 1, p_enable => false),
                tests.set_device_status(tests.fx('ta'), tests.fx('kiosk'), 'active', 1),
                tests.set_device_status(tests.fx('ta'), tests.fx('pending'), 'pending'),
                tests.set_device_status(tests.fx('ta'), tests.fx('revoked'), 'revoked')],
          array[2, 1, 1, 0, 1], 'fixture: the token versions the checks below rely on');

-- user tokens ---------------------------------------------------------------------------------------------
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('agent')::text, 'qms_agent', 2), true,
          'an active user with the current token_version is valid');
select is(qms.auth_token_valid(tests.fx('ta'), upper(tests.fx('agent')::text), 'qms_agent', 2), true,
          'the sub is matched as a uuid (case does not matter)');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('agent')::text, 'qms_agent', 1), false,
          'an older token_version is revoked');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('agent')::text, 'qms_agent', 3), false,
          'a token_version from the future is not valid either');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('agent')::text, 'qms_admin', 2), false,
          'a role claim that is not the user''s role is not valid');
select tests.revoke_user_tokens(tests.fx('ta'), tests.fx('agent'));
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('agent')::text, 'qms_agent', 2), false,
          'bumping users.token_version revokes the tokens issued before');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('agent')::text, 'qms_agent', 3), true,
          'a token with the bumped token_version is valid');
select qms.set_user_password_hash(tests.fx('ta'), tests.fx('agent'), '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aA');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('agent')::text, 'qms_agent', 3)::text || '|'
              || qms.auth_token_valid(tests.fx('ta'), tests.fx('agent')::text, 'qms_agent', 4)::text,
          'false|true', 'a password change (qms.set_user_password_hash) revokes the access tokens issued before');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('off')::text, 'qms_supervisor', 1), false,
          'a disabled user is not valid');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('off')::text, 'qms_supervisor', null), false,
          'a disabled user is not valid without tv either');
select is(qms.auth_token_valid(tests.fx('tb'), tests.fx('agent')::text, 'qms_agent', 4), false,
          'a user sub under another tenant is not valid');
select is(qms.auth_token_valid(tests.fx('ta'), gen_random_uuid()::text, 'qms_agent', 0), false,
          'an unknown user with tv is not valid');
select is(qms.auth_token_valid(null, tests.fx('agent')::text, 'qms_agent', 4), false, 'no tenant is not valid');
select is(qms.auth_token_valid(gen_random_uuid(), tests.fx('agent')::text, 'qms_agent', 4), false,
          'an unknown tenant is not valid');

-- tokens without tv (operator-minted) -----------------------------------------------------------------------
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('admin')::text, 'qms_admin', null), true,
          'without tv an active user is valid');
select is(qms.auth_token_valid(tests.fx('ta'), gen_random_uuid()::text, 'qms_analyst', null), true,
          'without tv a uuid sub that names no user is valid while the tenant is active (service identity)');
select is(qms.auth_token_valid(tests.fx('ta'), 'ops-console', 'qms_admin', null), true,
          'without tv a non-uuid sub is valid while the tenant is active');
select is(qms.auth_token_valid(tests.fx('ta'), null, 'qms_anon', null), true,
          'without tv and sub (an anonymous kiosk-less client) the tenant decides');
select is(qms.auth_token_valid(tests.fx('ta'), 'ops-console', 'qms_admin', 0), false,
          'a non-uuid sub with a tv is not valid');
select is(qms.auth_token_valid(gen_random_uuid(), 'ops-console', 'qms_admin', null), false,
          'without tv an unknown tenant is not valid');

-- device tokens -------------------------------------------------------------------------------------------
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('kiosk')::text, 'qms_device', 1), true,
          'an active device with the current token_version is valid');
select is((select last_seen_at from qms.devices where device_id = tests.fx('kiosk')), now(),
          'a valid device request records last_seen_at');
update qms.devices set last_seen_at = now() - interval '30 seconds' where device_id = tests.fx('kiosk');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('kiosk')::text, 'qms_device', 1), true,
          'still valid half a minute later');
select is((select last_seen_at from qms.devices where device_id = tests.fx('kiosk')), now() - interval '30 seconds',
          'last_seen_at is not rewritten within a minute');
update qms.devices set last_seen_at = now() - interval '61 seconds' where device_id = tests.fx('kiosk');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('kiosk')::text, 'qms_device', null), true,
          'a device token without tv is valid while the device is active');
select is((select last_seen_at from qms.devices where device_id = tests.fx('kiosk')), now(),
          'last_seen_at is refreshed after more than a minute');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('kiosk')::text, 'qms_device', 0), false,
          'an older device token_version is revoked');
select tests.set_device_status(tests.fx('ta'), tests.fx('kiosk'), 'active', 1);
update qms.devices set last_seen_at = null where device_id = tests.fx('kiosk');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('kiosk')::text, 'qms_device', 1), false,
          'bumping devices.token_version revokes the device''s tokens');
select is((select last_seen_at from qms.devices where device_id = tests.fx('kiosk')), null,
          'a refused device request records no last_seen_at');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('revoked')::text, 'qms_device', 1), false,
          'a revoked device is not valid');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('revoked')::text, 'qms_device', null), false,
          'a revoked device is not valid without tv either');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('pending')::text, 'qms_device', 0), false,
          'a pending device is not valid');
select is((select count(*)::int from qms.devices
           where device_id in (tests.fx('revoked'), tests.fx('pending')) and last_seen_at is not null), 0,
          '... and neither records last_seen_at');
select is(qms.auth_token_valid(tests.fx('tb'), tests.fx('kiosk')::text, 'qms_device', 2), false,
          'a device sub under another tenant is not valid');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('agent')::text, 'qms_device', 4), false,
          'a user id presented as a device is not valid');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('kiosk')::text, 'qms_agent', 2), false,
          'a device id presented as a user (with tv) is not valid');

-- tokens of other roles that name a device: subject to the device's revocation ----------------------------------
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('kiosk')::text, 'qms_agent', null), true,
          'without tv, a token of another role naming an active device is valid');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('revoked')::text, 'qms_agent', null), false,
          'without tv, a token of another role naming a revoked device is not valid');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('pending')::text, 'qms_admin', null), false,
          'without tv, a token of another role naming a pending device is not valid');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('revoked')::text, 'qms_worker', null), false,
          'a worker token naming a revoked device is not valid');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('kiosk')::text, 'qms_worker', null), true,
          'a worker token naming an active device is valid');
select is(qms.auth_token_valid(tests.fx('ta'), gen_random_uuid()::text, 'qms_worker', null), true,
          'a worker token whose uuid sub names no device stays valid');

-- inactive tenant ------------------------------------------------------------------------------------------
update qms.tenants set is_active = false where tenant_id = tests.fx('ta');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('agent')::text, 'qms_agent', 4), false,
          'an active user of an inactive tenant is not valid');
select is(qms.auth_token_valid(tests.fx('ta'), tests.fx('kiosk')::text, 'qms_device', 2), false,
          'an active device of an inactive tenant is not valid');
select is(qms.auth_token_valid(tests.fx('ta'), 'ops-console', 'qms_admin', null), false,
          'a token without tv of an inactive tenant is not valid');
select is(qms.auth_token_valid(tests.fx('ta'), gen_random_uuid()::text, 'qms_admin', null), false,
          'a service identity of an inactive tenant is not valid');
select is(qms.auth_token_valid(tests.fx('tb'), tests.fx('ub')::text, 'qms_agent', 0), true,
          'other tenants are unaffected');

-- workers ------------------------------------------------------------------------------------------------------
select is(qms.auth_token_valid(null, 'relay', 'qms_worker', null)::text || '|'
              || qms.auth_token_valid(tests.fx('ta'), 'relay', 'qms_worker', 7)::text, 'true|true',
          'worker tokens are always valid (revoked by rotating the secret)');

select * from finish();
rollback;
