-- api.get_public_branch and api.join_queue (the customer joins from the web), api.floor_snapshot (the
-- supervisor's live floor), the audited counter intervention, and the tenant's PII policy.
begin;
set search_path = tests, public;
select plan(27);
\ir _engine_fixture.sql
create temp table tk (k text primary key, v jsonb not null);
grant all on tk to public;
create function pg_temp.tk(p_k text) returns jsonb language sql stable as $$ select v from pg_temp.tk where k = p_k $$;
create function pg_temp.as_anon() returns void language sql as $$
    select tests.authenticate_as('qms_anon', '{"role": "qms_anon"}') $$;

-- The branch gets a join code; the tenant does not keep contact data yet.
select pg_temp.as_admin();
select is(api.update_branch(pg_temp.fx('bx'), code => 'X1') ->> 'code', 'X1', 'the admin gives branch X a code');

select pg_temp.as_anon();
select is(api.get_public_branch('tenant-a.X1') - 'services' - 'branding',
          '{"code": "tenant-a.X1", "branch_name": "Branch X", "timezone": "Asia/Jakarta", "is_open": true,
            "tenant_name": "Tenant A", "contacts_allowed": false}'::jsonb,
          'the join page names the branch, says it is open and that no contact data is kept');
select is((select array_agg(s ->> 'name' order by s ->> 'name') from jsonb_array_elements(api.get_public_branch('tenant-a.X1') -> 'services') s),
          array['Loans', 'Teller'], 'it lists the branch''s active services');
select is(tests.error_of($$ select api.get_public_branch('tenant-a.NOPE') $$), 'PT404 BRANCH_NOT_FOUND',
          'an unknown code is BRANCH_NOT_FOUND');
select is(tests.error_of($$ select api.get_public_branch('not a code') $$), 'PT404 BRANCH_NOT_FOUND',
          'a malformed code is BRANCH_NOT_FOUND');
select is(tests.error_of($$ select api.get_public_branch('tenant-b.X1') $$), 'PT404 BRANCH_NOT_FOUND',
          'the code is per tenant');

-- Joining.
insert into tk values ('j1', api.join_queue('tenant-a.X1', pg_temp.fx('sa'), request_id => '00000000-0000-4000-8000-00000000000a'));
select is(pg_temp.tk('j1') ->> 'channel', 'web', 'the customer joins: a web ticket');
select ok(pg_temp.tk('j1') ->> 'status_url' like '/apps/public/#t=' || (pg_temp.tk('j1') ->> 'ticket_id') || '.%',
          'with its status_url');
select is(api.join_queue('tenant-a.X1', pg_temp.fx('sa'), request_id => '00000000-0000-4000-8000-00000000000a') ->> 'ticket_id',
          pg_temp.tk('j1') ->> 'ticket_id', 'a retry with the same request_id is the same ticket');
select is(((api.get_public_branch('tenant-a.X1') -> 'services') -> 1 ->> 'waiting_count')::int, 1,
          'the join page counts the waiting ticket');
select is(current_setting('request.jwt.claims'), '{"role": "qms_anon"}', 'the caller''s claims are restored');
select is(tests.error_of(format('select api.join_queue(%L, %L)', 'tenant-a.X1', pg_temp.fx('sy'))),
          'PT404 SERVICE_NOT_FOUND', 'a service of another branch is SERVICE_NOT_FOUND');
select is(tests.error_of(format('select api.join_queue(%L, %L)', 'tenant-a.X1', pg_temp.fx('sz'))),
          'PT404 SERVICE_NOT_FOUND', 'a service of another tenant is SERVICE_NOT_FOUND');
select is(tests.error_of(format('select api.join_queue(%L, %L, %L)', 'tenant-a.X1', pg_temp.fx('sa'),
                                '{"email": "a@b.co", "consent": true}')),
          'PT400 CONTACT_NOT_ALLOWED', 'contact data is refused while the tenant keeps none');
select tests.reset_role();
select is((select count(*)::int from qms.tickets where tenant_id = pg_temp.fx('ta') and channel = 'web'), 1,
          'the refused joins changed nothing');
select is((select actor from qms.ticket_events where ticket_id = (pg_temp.tk('j1') ->> 'ticket_id')::uuid),
          '{"sub": "web", "role": "qms_anon"}'::jsonb, 'the event''s actor is the anonymous web customer');

-- The tenant's PII policy.
select pg_temp.as_admin();
select is(tests.error_of($$ select api.update_tenant(pii_policy => '{"contacts": "yes"}') $$), 'PT400 INVALID_PII_POLICY',
          'a malformed PII policy is INVALID_PII_POLICY');
select is(tests.error_of($$ select api.update_tenant(pii_policy => '{"retention_days": 99999}') $$),
          'PT400 INVALID_PII_POLICY', 'retention is bounded');
select is(api.update_tenant(pii_policy => '{"contacts": true, "retention_days": 30}') -> 'pii_policy',
          '{"contacts": true, "retention_days": 30}'::jsonb, 'the admin lets customers leave contact data');
select pg_temp.as_anon();
select is(api.join_queue('tenant-a.X1', pg_temp.fx('sb'), '{"email": "c@d.co", "consent": true}') ->> 'status', 'waiting',
          'now a customer may leave an e-mail with consent');
select is(tests.error_of(format('select api.join_queue(%L, %L, %L)', 'tenant-a.X1', pg_temp.fx('sb'), '{"email": "c@d.co"}')),
          'PT400 CONSENT_REQUIRED', 'but never without consent');

-- The live floor.
select pg_temp.as_agent();
select is(api.call_next(pg_temp.fx('c1')) #>> '{ticket,ticket_id}', pg_temp.tk('j1') ->> 'ticket_id', 'the agent calls the web ticket');
select pg_temp.as_supervisor();
select is((select c -> 'ticket' ->> 'ticket_id' || ' ' || (c -> 'agent' ->> 'sub')
           from jsonb_array_elements(api.floor_snapshot(pg_temp.fx('bx')) -> 'counters') c where c ->> 'name' = 'Counter 1'),
          (pg_temp.tk('j1') ->> 'ticket_id') || ' agent-x', 'the floor shows counter 1''s ticket and the agent who called it');
select is((select (s ->> 'waiting_count')::int || '/' || (s ->> 'called_last_hour')::int
           from jsonb_array_elements(api.floor_snapshot(pg_temp.fx('bx')) -> 'services') s where s ->> 'name' = 'Loans'),
          '1/0', 'per service: waiting and called in the last hour');
select is(api.set_counter_status(pg_temp.fx('c2'), 'break') ->> 'status', 'break', 'the supervisor puts counter 2 on break');
select tests.reset_role();
select is((select jsonb_build_array(action, actor_role, before, after) from audit.log
           where target_id = pg_temp.fx('c2')::text order by seq desc limit 1),
          '["counter.status", "qms_supervisor", {"status": "available"}, {"status": "break"}]'::jsonb,
          'the intervention is audited with the supervisor as actor');
select pg_temp.as_agent();
select is(tests.error_of(format('select api.floor_snapshot(%L)', pg_temp.fx('bx'))), '42501 ',
          'an agent has no live floor');
select * from finish();
rollback;
