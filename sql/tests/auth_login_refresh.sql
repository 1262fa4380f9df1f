-- Gateway login support in SQL: qms.auth_lookup_user, refresh tokens (qms.auth_issue_refresh,
-- qms.auth_rotate_refresh, qms.auth_revoke_refresh) and qms.set_user_password_hash, called as their owner
-- (the grants are tested in auth_grants_rls.sql).
begin;
set search_path = tests, public;
select plan(73);

-- fixtures (as the owner): tenants A and B, a branch each, users, refresh tokens --------------------------
select set_config('fx.ta', qms.create_tenant('Tenant A', 'tenant-a')::text, true);
select set_config('fx.tb', qms.create_tenant('Tenant B', 'tenant-b')::text, true);
select set_config('fx.tc', qms.create_tenant('Tenant C', 'tenant-c')::text, true);
select set_config('fx.a1', tests.add_branch(tests.fx('ta'), 'A Main')::text, true),
       set_config('fx.bb', tests.add_branch(tests.fx('tb'), 'B Main')::text, true),
       set_config('fx.cc', tests.add_branch(tests.fx('tc'), 'C Main')::text, true);
select set_config('fx.c1', tests.add_counter(tests.fx('ta'), tests.fx('a1'), 'Counter 1', null)::text, true);
-- alice: A agent, active; bob: A supervisor, disabled; carol: A admin without a password; dave: B agent with
-- alice's e-mail; erin: C agent (tenant C gets disabled).
select set_config('fx.alice', tests.add_user(tests.fx('ta'), 'Alice@A.example', 'agent', array[tests.fx('a1')], 'Alice',
                                             array[tests.fx('c1')])::text, true),
       set_config('fx.bob', tests.add_user(tests.fx('ta'), 'bob@a.example', 'supervisor', array[tests.fx('a1')], 'Bob')::text, true),
       set_config('fx.carol', tests.add_user(tests.fx('ta'), 'carol@a.example', 'admin', null, 'Carol')::text, true),
       set_config('fx.dave', tests.add_user(tests.fx('tb'), 'alice@a.example', 'agent', array[tests.fx('bb')], 'Dave')::text, true),
       set_config('fx.erin', tests.add_user(tests.fx('tc'), 'erin@c.example', 'agent', array[tests.fx('cc')], 'Erin')::text, true);
select qms.set_user_password_hash(tests.fx('ta'), tests.fx('alice'), '$argon2id$v=19$m=65536,t=3,p=4$YWxpY2U$aGFzaA'),
       qms.set_user_password_hash(tests.fx('ta'), tests.fx('bob'), '$argon2id$v=19$m=65536,t=3,p=4$Ym9i$aGFzaA'),
       qms.set_user_password_hash(tests.fx('tb'), tests.fx('dave'), '$argon2id$v=19$m=65536,t=3,p=4$ZGF2ZQ$aGFzaA');
-- alice's token_version: 1 (password) + 2 revocations = 3; bob: disabled.
select is(array[tests.revoke_user_tokens(tests.fx('ta'), tests.fx('alice'), 2),
                tests.revoke_user_tokens(tests.fx('ta'), tests.fx('bob'), 1, p_enable => false)],
          array[3, 2], 'fixture: alice at token_version 3, bob disabled');
update qms.tenants set is_active = false where tenant_id = tests.fx('tc');

-- qms.auth_lookup_user -----------------------------------------------------------------------------------
select results_eq(
    $$ select tenant_id, user_id, role, branch_ids, counter_ids, password_hash, is_active, token_version
       from qms.auth_lookup_user('tenant-a', 'alice@a.example') $$,
    format($$ values (%L::uuid, %L::uuid, 'agent', array[tests.fx('a1')]::uuid[],
                      array[tests.fx('c1')]::uuid[],
                      '$argon2id$v=19$m=65536,t=3,p=4$YWxpY2U$aGFzaA', true, 3) $$, tests.fx('ta'), tests.fx('alice')),
    'lookup returns the login row of the user: ids, role, scope, hash, active, token_version');
select is((select user_id from qms.auth_lookup_user('  Tenant-A ', ' ALICE@a.EXAMPLE  ')), tests.fx('alice'),
          'slug and e-mail are trimmed and compared case-insensitively');
select is((select user_id from qms.auth_lookup_user('tenant-b', 'alice@a.example')), tests.fx('dave'),
          'the same e-mail in another tenant is another user (the slug picks the tenant)');
select is_empty($$ select * from qms.auth_lookup_user('no-such-tenant', 'alice@a.example') $$,
                'an unknown tenant slug returns no row');
select is_empty($$ select * from qms.auth_lookup_user('tenant-a', 'nobody@a.example') $$,
                'an unknown e-mail returns no row');
select is_empty($$ select * from qms.auth_lookup_user('tenant-a', 'erin@c.example') $$,
                'a user of another tenant is not found under this slug');
select is_empty($$ select * from qms.auth_lookup_user(null, null) $$, 'null slug and e-mail return no row');
select is((select is_active::text || '|' || role from qms.auth_lookup_user('tenant-a', 'bob@a.example')),
          'false|supervisor', 'a disabled user is returned with is_active false');
select is((select is_active from qms.auth_lookup_user('tenant-c', 'erin@c.example')), false,
          'an active user of an inactive tenant is returned with is_active false');
select is((select count(*)::int || '|' || bool_and(password_hash is null)::text
           from qms.auth_lookup_user('tenant-a', 'carol@a.example')), '1|true',
          'a user without a password is returned with a null hash (the gateway refuses it)');

-- qms.auth_issue_refresh -----------------------------------------------------------------------------------
select set_config('fx.fam1', gen_random_uuid()::text, true);
select set_config('fx.r1', qms.auth_issue_refresh(tests.fx('ta'), tests.fx('alice'), tests.token_hash('a-r1'),
                                                  tests.fx('fam1'), now() + interval '30 days', true,
                                                  '203.0.113.7', 'pgtap-agent')::text, true);
select results_eq(
    format($$ select token_id, family_id, user_id, expires_at, revoked_at, replaced_by, ip, user_agent, created_at
              from qms.refresh_tokens where tenant_id = %L and token_hash = tests.token_hash('a-r1') $$, tests.fx('ta')),
    format($$ values (%L::uuid, %L::uuid, %L::uuid, now() + interval '30 days', null::timestamptz, null::uuid,
                      '203.0.113.7', 'pgtap-agent', now()) $$, tests.fx('r1'), tests.fx('fam1'), tests.fx('alice')),
    'issue stores the sha256 with family, user, expiry, ip and user agent and returns the token_id');
select is((select last_login_at from qms.users where user_id = tests.fx('alice')), now(),
          'issue at login records last_login_at');
update qms.users set last_login_at = null where user_id = tests.fx('carol');
select isa_ok(qms.auth_issue_refresh(tests.fx('ta'), tests.fx('carol'), tests.token_hash('c-r1'), gen_random_uuid(),
                                     now() + interval '1 day', p_login => false), 'uuid',
              'issue without p_login returns a token id');
select is((select last_login_at from qms.users where user_id = tests.fx('carol')), null,
          'issue with p_login => false leaves last_login_at alone');
select set_config('fx.c2', qms.auth_issue_refresh(tests.fx('ta'), tests.fx('carol'), tests.token_hash('c-r2'),
                                                  gen_random_uuid(), now() + interval '1 day', true,
                                                  repeat('9', 500), repeat('u', 1000))::text, true);
select is((select length(ip) || '|' || length(user_agent) from qms.refresh_tokens where token_id = tests.fx('c2')),
          '100|300', 'ip and user agent are cut to 100 and 300 characters');
select is(tests.error_of(format($$ select qms.auth_issue_refresh(%L, %L, tests.token_hash('b-r1'), gen_random_uuid(),
                                                                  now() + interval '1 day') $$,
                                tests.fx('ta'), tests.fx('bob'))),
          'PT401 USER_DISABLED', 'issue for a disabled user is PT401 USER_DISABLED');
select is(tests.error_of(format($$ select qms.auth_issue_refresh(%L, gen_random_uuid(), tests.token_hash('x-r1'),
                                                                  gen_random_uuid(), now() + interval '1 day') $$,
                                tests.fx('ta'))),
          'PT401 USER_DISABLED', 'issue for an unknown user is PT401 USER_DISABLED');
select is(tests.error_of(format($$ select qms.auth_issue_refresh(%L, %L, tests.token_hash('d-r1'), gen_random_uuid(),
                                                                  now() + interval '1 day') $$,
                                tests.fx('ta'), tests.fx('dave'))),
          'PT401 USER_DISABLED', 'issue for a user of another tenant is PT401 USER_DISABLED');
select is(tests.error_of(format($$ select qms.auth_issue_refresh(%L, %L, tests.token_hash('e-r1'), gen_random_uuid(),
                                                                  now() + interval '1 day') $$,
                                tests.fx('tc'), tests.fx('erin'))),
          'PT401 USER_DISABLED', 'issue for a user of an inactive tenant is PT401 USER_DISABLED');
select is(tests.error_of(format($$ select qms.auth_issue_refresh(%L, %L, '\x00'::bytea, gen_random_uuid(),
                                                                  now() + interval '1 day') $$,
                                tests.fx('ta'), tests.fx('alice'))) like '23514 %', true,
          'a token hash that is not 32 bytes is refused by the table');
select is(tests.error_of(format($$ select qms.auth_issue_refresh(%L, %L, tests.token_hash('a-r1'), gen_random_uuid(),
                                                                  now() + interval '1 day') $$,
                                tests.fx('ta'), tests.fx('alice'))) like '23505 %', true,
          'the same token hash twice in a tenant is a unique violation');
select is((select count(*)::int from qms.refresh_tokens where user_id in (tests.fx('bob'), tests.fx('dave'), tests.fx('erin'))),
          0, 'refused issues stored nothing');
select is((select last_login_at from qms.users where user_id = tests.fx('bob')), null,
          'a refused issue does not record a login');

-- qms.auth_rotate_refresh: ok ------------------------------------------------------------------------------
select results_eq(
    format($$ select status, user_id, role, branch_ids, counter_ids, token_version
              from qms.auth_rotate_refresh(%L, tests.token_hash('a-r1'), tests.token_hash('a-r2'),
                                           now() + interval '30 days') $$, tests.fx('ta')),
    format($$ values ('ok', %L::uuid, 'agent', array[tests.fx('a1')]::uuid[],
                      array[tests.fx('c1')]::uuid[], 3) $$, tests.fx('alice')),
    'rotate: ok with the user''s current role, scope and token_version');
select set_config('fx.r2', (select token_id from qms.refresh_tokens
                            where tenant_id = tests.fx('ta') and token_hash = tests.token_hash('a-r2'))::text, true);
select is((select family_id::text || '|' || user_id || '|' || (expires_at = now() + interval '30 days') || '|'
                  || (revoked_at is null) || '|' || ip || '|' || user_agent
           from qms.refresh_tokens where token_id = tests.fx('r2')),
          tests.fx('fam1')::text || '|' || tests.fx('alice') || '|true|true|203.0.113.7|pgtap-agent',
          'the successor is live, in the same family, with the new expiry and the login''s ip and user agent');
select is((select (revoked_at = now())::text || '|' || replaced_by from qms.refresh_tokens where token_id = tests.fx('r1')),
          'true|' || tests.fx('r2'), 'the presented token is revoked and replaced_by its successor');
select results_eq(
    format($$ select status, user_id from qms.auth_rotate_refresh(%L, tests.token_hash('a-r2'), tests.token_hash('a-r3'),
                                                                  now() + interval '30 days') $$, tests.fx('ta')),
    format($$ values ('ok', %L::uuid) $$, tests.fx('alice')), 'the successor rotates in turn');
select tests.authenticate_as('qms_admin', tests.claims('qms_admin', tests.fx('ta')));
select api.update_user(tests.fx('alice'), role => 'supervisor', counter_ids => '{}');
select tests.reset_role();
select results_eq(
    format($$ select status, role, branch_ids, counter_ids, token_version
              from qms.auth_rotate_refresh(%L, tests.token_hash('a-r3'), tests.token_hash('a-r4'),
                                           now() + interval '30 days') $$, tests.fx('ta')),
    $$ values ('ok', 'supervisor', array[tests.fx('a1')], null::uuid[], 4) $$,
    'rotate returns the user''s claims as they are now, not as they were at login');

-- rotate: invalid, expired -----------------------------------------------------------------------------
select set_config('fx.before', (select jsonb_agg(to_jsonb(r) order by token_id) from qms.refresh_tokens r)::text, true);
select results_eq(
    format($$ select status, user_id, role, token_version from qms.auth_rotate_refresh(%L, tests.token_hash('nope'),
              tests.token_hash('nope-2'), now() + interval '1 day') $$, tests.fx('ta')),
    $$ values ('invalid', null::uuid, null::text, null::integer) $$, 'an unknown token is invalid');
select is((select status from qms.auth_rotate_refresh(tests.fx('tb'), tests.token_hash('a-r4'), tests.token_hash('nope-3'),
                                                      now() + interval '1 day')),
          'invalid', 'a token presented with another tenant''s prefix is invalid');
select is((select status from qms.auth_rotate_refresh(gen_random_uuid(), tests.token_hash('a-r4'),
                                                      tests.token_hash('nope-4'), now() + interval '1 day')),
          'invalid', 'a token presented with an unknown tenant prefix is invalid');
select is((select jsonb_agg(to_jsonb(r) order by token_id) from qms.refresh_tokens r), tests.fxj('before'),
          'invalid rotations changed nothing');

select set_config('fx.fam2', gen_random_uuid()::text, true);
select qms.auth_issue_refresh(tests.fx('ta'), tests.fx('carol'), tests.token_hash('c-old'), tests.fx('fam2'),
                              now() - interval '1 second');
select qms.auth_issue_refresh(tests.fx('ta'), tests.fx('carol'), tests.token_hash('c-edge'), gen_random_uuid(), now());
select set_config('fx.before', (select jsonb_agg(to_jsonb(r) order by token_id) from qms.refresh_tokens r)::text, true);
select results_eq(
    format($$ select status, user_id, role from qms.auth_rotate_refresh(%L, tests.token_hash('c-old'),
              tests.token_hash('c-new'), now() + interval '1 day') $$, tests.fx('ta')),
    format($$ values ('expired', %L::uuid, null::text) $$, tests.fx('carol')), 'an expired token is expired');
select is((select status from qms.auth_rotate_refresh(tests.fx('ta'), tests.token_hash('c-edge'), tests.token_hash('c-new'),
                                                      now() + interval '1 day')),
          'expired', 'a token whose expires_at is now is expired');
select is((select jsonb_agg(to_jsonb(r) order by token_id) from qms.refresh_tokens r), tests.fxj('before'),
          'expired rotations issue no successor and change nothing');

-- rotate: reused (theft detection) ---------------------------------------------------------------------
select set_config('fx.fam3', gen_random_uuid()::text, true);
select qms.auth_issue_refresh(tests.fx('ta'), tests.fx('alice'), tests.token_hash('a-other'), tests.fx('fam3'),
                              now() + interval '30 days');
update qms.refresh_tokens set revoked_at = now() - interval '1 hour' where token_id = tests.fx('r1');
select results_eq(
    format($$ select status, user_id, role, token_version from qms.auth_rotate_refresh(%L, tests.token_hash('a-r2'),
              tests.token_hash('a-thief'), now() + interval '30 days') $$, tests.fx('ta')),
    format($$ values ('reused', %L::uuid, null::text, null::integer) $$, tests.fx('alice')),
    'presenting an already rotated token is reused');
select is((select count(*)::int from qms.refresh_tokens where family_id = tests.fx('fam1') and revoked_at is null), 0,
          'reuse revokes the whole family, the live successor included');
select is((select revoked_at from qms.refresh_tokens where token_id = tests.fx('r1')), now() - interval '1 hour',
          'reuse keeps the revoked_at of already revoked rows');
select is((select count(*)::int from qms.refresh_tokens where token_hash = tests.token_hash('a-thief')), 0,
          'reuse issues no successor');
select is((select revoked_at from qms.refresh_tokens where token_hash = tests.token_hash('a-other')), null,
          'reuse leaves the user''s other sessions (families) alone');
select is((select status from qms.auth_rotate_refresh(tests.fx('ta'), tests.token_hash('a-r4'), tests.token_hash('a-r5'),
                                                      now() + interval '30 days')),
          'revoked', 'the family''s last token is dead after the reuse');

-- rotate: disabled user or tenant ------------------------------------------------------------------------
select set_config('fx.fam4', gen_random_uuid()::text, true);
select qms.auth_issue_refresh(tests.fx('ta'), tests.fx('carol'), tests.token_hash('c-live'), tests.fx('fam4'),
                              now() + interval '1 day');
update qms.users set is_active = false where user_id = tests.fx('carol');
select results_eq(
    format($$ select status, user_id, role from qms.auth_rotate_refresh(%L, tests.token_hash('c-live'),
              tests.token_hash('c-live-2'), now() + interval '1 day') $$, tests.fx('ta')),
    format($$ values ('disabled', %L::uuid, null::text) $$, tests.fx('carol')),
    'rotating the token of a disabled user is disabled');
select is((select (revoked_at = now())::text || '|' || coalesce(replaced_by::text, '-') from qms.refresh_tokens
           where token_hash = tests.token_hash('c-live')), 'true|-', 'a disabled rotation revokes the family');
select is((select count(*)::int from qms.refresh_tokens where token_hash = tests.token_hash('c-live-2')), 0,
          'a disabled rotation issues no successor');
update qms.users set is_active = true where user_id = tests.fx('carol');
select qms.auth_issue_refresh(tests.fx('ta'), tests.fx('carol'), tests.token_hash('c-live-3'), gen_random_uuid(),
                              now() + interval '1 day');
update qms.tenants set is_active = false where tenant_id = tests.fx('ta');
select is((select status from qms.auth_rotate_refresh(tests.fx('ta'), tests.token_hash('c-live-3'),
                                                      tests.token_hash('c-live-4'), now() + interval '1 day')),
          'disabled', 'rotating the token of an active user of an inactive tenant is disabled');
update qms.tenants set is_active = true where tenant_id = tests.fx('ta');
select is((select status from qms.auth_rotate_refresh(tests.fx('ta'), tests.token_hash('c-live-3'),
                                                      tests.token_hash('c-live-4'), now() + interval '1 day')),
          'revoked', 'a token revoked by a disabled rotation stays dead after re-activation (revoked, not reused)');

-- qms.auth_revoke_refresh (logout) -------------------------------------------------------------------------
select set_config('fx.fam5', gen_random_uuid()::text, true);
select qms.auth_issue_refresh(tests.fx('ta'), tests.fx('alice'), tests.token_hash('l-1'), tests.fx('fam5'),
                              now() + interval '1 day');
select qms.auth_rotate_refresh(tests.fx('ta'), tests.token_hash('l-1'), tests.token_hash('l-2'), now() + interval '1 day');
select is(qms.auth_revoke_refresh(tests.fx('ta'), tests.token_hash('l-2')), true, 'logout with a live token is true');
select is((select count(*)::int from qms.refresh_tokens where family_id = tests.fx('fam5') and revoked_at is null), 0,
          'logout revokes the token''s family');
select is((select revoked_at from qms.refresh_tokens where token_hash = tests.token_hash('a-other')), null,
          'logout leaves the user''s other families alone');
select is(qms.auth_revoke_refresh(tests.fx('ta'), tests.token_hash('l-2')), false, 'logout again is false (idempotent)');
select is(qms.auth_revoke_refresh(tests.fx('ta'), tests.token_hash('l-1')), false,
          'logout with an already rotated token of a revoked family is false');
select is(qms.auth_revoke_refresh(tests.fx('ta'), tests.token_hash('never-issued')), false,
          'logout with an unknown token is false');
select is(qms.auth_revoke_refresh(tests.fx('tb'), tests.token_hash('a-other')), false,
          'logout with another tenant''s prefix is false');
select is((select revoked_at from qms.refresh_tokens where token_hash = tests.token_hash('a-other')), null,
          '... and revokes nothing');
select is((select status from qms.auth_rotate_refresh(tests.fx('ta'), tests.token_hash('l-2'), tests.token_hash('l-3'),
                                                      now() + interval '1 day')),
          'revoked', 'refreshing with a logged-out token: the session ended (not reuse)');
select is(qms.auth_revoke_refresh(tests.fx('ta'), tests.token_hash('a-other')), true,
          'logout with a token of the other family revokes it');

-- qms.set_user_password_hash -----------------------------------------------------------------------------------
select qms.auth_issue_refresh(tests.fx('ta'), tests.fx('alice'), tests.token_hash('p-1'), gen_random_uuid(),
                              now() + interval '1 day');
select qms.auth_issue_refresh(tests.fx('ta'), tests.fx('alice'), tests.token_hash('p-2'), gen_random_uuid(),
                              now() + interval '1 day');
select qms.auth_issue_refresh(tests.fx('ta'), tests.fx('carol'), tests.token_hash('p-carol'), gen_random_uuid(),
                              now() + interval '1 day');
update qms.users set updated_at = now() - interval '1 hour' where user_id = tests.fx('alice');
select set_config('fx.before', (select jsonb_agg(to_jsonb(u) order by user_id) from qms.users u)::text, true);
select set_config('fx.before_rt', (select jsonb_agg(to_jsonb(r) order by token_id) from qms.refresh_tokens r)::text, true);
select is(tests.error_of(format($$ select qms.set_user_password_hash(%L, %L, %L) $$, tests.fx('ta'), tests.fx('alice'),
                                '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW')),
          'PT400 INVALID_PASSWORD_HASH', 'a bcrypt hash is PT400 INVALID_PASSWORD_HASH');
select is(tests.error_of(format($$ select qms.set_user_password_hash(%L, %L, 'correct horse battery staple') $$,
                                tests.fx('ta'), tests.fx('alice'))),
          'PT400 INVALID_PASSWORD_HASH', 'a plain-text password is PT400 INVALID_PASSWORD_HASH');
select is(tests.error_of(format($$ select qms.set_user_password_hash(%L, %L, null) $$, tests.fx('ta'), tests.fx('alice'))),
          'PT400 INVALID_PASSWORD_HASH', 'a null hash is PT400 INVALID_PASSWORD_HASH');
select is(tests.error_of(format($$ select qms.set_user_password_hash(%L, %L, ' $argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aA') $$,
                                tests.fx('ta'), tests.fx('alice'))),
          'PT400 INVALID_PASSWORD_HASH', 'a hash with leading garbage is PT400 INVALID_PASSWORD_HASH');
select is(tests.error_of(format($$ select qms.set_user_password_hash(%L, %L, '$argon2id$anything goes') $$,
                                tests.fx('ta'), tests.fx('alice'))),
          'PT400 INVALID_PASSWORD_HASH', 'an argon2 prefix without parameters, salt and hash is refused');
select is(tests.error_of(format($$ select qms.set_user_password_hash(%L, gen_random_uuid(), %L) $$, tests.fx('ta'),
                                '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aA')),
          'PT404 USER_NOT_FOUND', 'an unknown user is PT404 USER_NOT_FOUND');
select is(tests.error_of(format($$ select qms.set_user_password_hash(%L, %L, %L) $$, tests.fx('ta'), tests.fx('dave'),
                                '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aA')),
          'PT404 USER_NOT_FOUND', 'a user of another tenant is PT404 USER_NOT_FOUND');
select is((select jsonb_agg(to_jsonb(u) order by user_id) from qms.users u)::text
              || (select jsonb_agg(to_jsonb(r) order by token_id) from qms.refresh_tokens r)::text,
          tests.fxj('before')::text || tests.fxj('before_rt')::text,
          'refused password changes changed no user and no refresh token');

select lives_ok(format($$ select qms.set_user_password_hash(%L, %L, %L) $$, tests.fx('ta'), tests.fx('alice'),
                       '$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdA$bmV3aGFzaA'),
                'an argon2id PHC string is accepted');
select is((select password_hash || '|' || token_version || '|' || (updated_at = now()) from qms.users
           where user_id = tests.fx('alice')),
          '$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdA$bmV3aGFzaA|5|true',
          'the hash is stored, token_version bumped by one, updated_at set');
select is((select count(*)::int from qms.refresh_tokens where user_id = tests.fx('alice') and revoked_at is null), 0,
          'every refresh token of the user is revoked');
select is((select revoked_at from qms.refresh_tokens where token_hash = tests.token_hash('p-carol')), null,
          'other users'' refresh tokens are untouched');
select is((select status from qms.auth_rotate_refresh(tests.fx('ta'), tests.token_hash('p-1'), tests.token_hash('p-3'),
                                                      now() + interval '1 day')),
          'revoked', 'a refresh token from before the password change no longer refreshes');
select lives_ok(format($$ select qms.set_user_password_hash(%L, %L, '$argon2i$v=19$m=4096,t=3,p=1$c2FsdA$aA'),
                                 qms.set_user_password_hash(%L, %L, '$argon2d$v=19$m=4096,t=3,p=1$c2FsdA$aA') $$,
                       tests.fx('ta'), tests.fx('carol'), tests.fx('ta'), tests.fx('carol')),
                'argon2i and argon2d PHC strings are accepted too');
select is((select password_hash || '|' || token_version from qms.users where user_id = tests.fx('carol')),
          '$argon2d$v=19$m=4096,t=3,p=1$c2FsdA$aA|2', 'every call bumps token_version (the last hash wins)');
select is((select is_active from qms.auth_lookup_user('tenant-a', 'carol@a.example')), true,
          'lookup sees the new state of the user');

select * from finish();
rollback;
