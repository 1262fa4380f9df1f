-- Shared fixture of the engine pgTAP files (included with \ir; runs as the owner inside their transaction).
-- Tenant A with branches X (Asia/Jakarta) and Y, tenant B; ids via pg_temp.fx(key); role shortcuts
-- pg_temp.as_agent / as_supervisor / as_admin / as_device (branch X of tenant A) and as_agent_b (tenant B).
create temp table fx (k text primary key, v uuid not null);
create function pg_temp.fx(p_k text) returns uuid language sql stable security definer
    as $$ select v from pg_temp.fx where k = p_k $$;
insert into fx values ('ta', qms.create_tenant('Tenant A', 'tenant-a')), ('tb', qms.create_tenant('Tenant B', 'tenant-b'));
insert into fx values ('bx', gen_random_uuid()), ('by', gen_random_uuid()), ('bb', gen_random_uuid()),
    ('sa', gen_random_uuid()), ('sb', gen_random_uuid()), ('sy', gen_random_uuid()), ('sz', gen_random_uuid()),
    ('c1', gen_random_uuid()), ('c2', gen_random_uuid()), ('c3', gen_random_uuid()), ('cy', gen_random_uuid()),
    ('cz', gen_random_uuid());
insert into qms.branches (tenant_id, branch_id, name, timezone) values
    (pg_temp.fx('ta'), pg_temp.fx('bx'), 'Branch X', 'Asia/Jakarta'),
    (pg_temp.fx('ta'), pg_temp.fx('by'), 'Branch Y', 'UTC'),
    (pg_temp.fx('tb'), pg_temp.fx('bb'), 'Branch B', 'UTC');
insert into qms.services (tenant_id, service_id, branch_id, name, prefix) values
    (pg_temp.fx('ta'), pg_temp.fx('sa'), pg_temp.fx('bx'), 'Teller', 'A'),
    (pg_temp.fx('ta'), pg_temp.fx('sb'), pg_temp.fx('bx'), 'Loans', 'B'),
    (pg_temp.fx('ta'), pg_temp.fx('sy'), pg_temp.fx('by'), 'Teller Y', 'Y'),
    (pg_temp.fx('tb'), pg_temp.fx('sz'), pg_temp.fx('bb'), 'Teller B', 'Z');
insert into qms.counters (tenant_id, counter_id, branch_id, name, status) values
    (pg_temp.fx('ta'), pg_temp.fx('c1'), pg_temp.fx('bx'), 'Counter 1', 'available'),
    (pg_temp.fx('ta'), pg_temp.fx('c2'), pg_temp.fx('bx'), 'Counter 2', 'available'),
    (pg_temp.fx('ta'), pg_temp.fx('c3'), pg_temp.fx('bx'), 'Counter 3', 'available'),
    (pg_temp.fx('ta'), pg_temp.fx('cy'), pg_temp.fx('by'), 'Counter Y', 'available'),
    (pg_temp.fx('tb'), pg_temp.fx('cz'), pg_temp.fx('bb'), 'Counter Z', 'available');
insert into qms.counter_services (tenant_id, branch_id, counter_id, service_id) values
    (pg_temp.fx('ta'), pg_temp.fx('bx'), pg_temp.fx('c1'), pg_temp.fx('sa')),
    (pg_temp.fx('ta'), pg_temp.fx('bx'), pg_temp.fx('c2'), pg_temp.fx('sa')),
    (pg_temp.fx('ta'), pg_temp.fx('bx'), pg_temp.fx('c2'), pg_temp.fx('sb')),
    (pg_temp.fx('ta'), pg_temp.fx('bx'), pg_temp.fx('c3'), pg_temp.fx('sb')),
    (pg_temp.fx('ta'), pg_temp.fx('by'), pg_temp.fx('cy'), pg_temp.fx('sy')),
    (pg_temp.fx('tb'), pg_temp.fx('bb'), pg_temp.fx('cz'), pg_temp.fx('sz'));
-- Role shortcuts: an agent of branch X, a supervisor of X, an admin of tenant A, a kiosk of X, tenant B's agent.
create function pg_temp.as_agent() returns void language sql as $$
    select tests.authenticate_as('qms_agent', tests.claims('qms_agent', pg_temp.fx('ta'), array[pg_temp.fx('bx')], 'agent-x')) $$;
create function pg_temp.as_supervisor() returns void language sql as $$
    select tests.authenticate_as('qms_supervisor', tests.claims('qms_supervisor', pg_temp.fx('ta'), array[pg_temp.fx('bx')], 'sup-x')) $$;
create function pg_temp.as_admin() returns void language sql as $$
    select tests.authenticate_as('qms_admin', tests.claims('qms_admin', pg_temp.fx('ta'), null, 'admin-a')) $$;
create function pg_temp.as_device() returns void language sql as $$
    select tests.authenticate_as('qms_device', tests.claims('qms_device', pg_temp.fx('ta'), array[pg_temp.fx('bx')], 'kiosk-x')) $$;
create function pg_temp.as_agent_b() returns void language sql as $$
    select tests.authenticate_as('qms_agent', tests.claims('qms_agent', pg_temp.fx('tb'), array[pg_temp.fx('bb')], 'agent-b')) $$;
