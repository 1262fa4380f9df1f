-- Shared fixture of the engine pgTAP files (included with \ir; runs as the owner inside their transaction).
-- Tenant A with branches X (Asia/Jakarta) and Y, tenant B; ids via pg_temp.fx(key); role shortcuts
-- pg_temp.as_agent / as_supervisor / as_admin / as_device (branch X of tenant A) and as_agent_b (tenant B).
create temp table fx (k text primary key, v uuid not null);
create function pg_temp.fx(p_k text) returns uuid language sql stable security definer
    as $$ select v from pg_temp.fx where k = p_k $$;
insert into fx values ('ta', qms.create_tenant('Tenant A', 'tenant-a')), ('tb', qms.create_tenant('Tenant B', 'tenant-b'));
-- Made through the api (tests.add_* in _helpers.sql), so the rows are what real clients would create.
insert into fx values ('bx', tests.add_branch(pg_temp.fx('ta'), 'Branch X', 'Asia/Jakarta')),
    ('by', tests.add_branch(pg_temp.fx('ta'), 'Branch Y')), ('bb', tests.add_branch(pg_temp.fx('tb'), 'Branch B'));
insert into fx values ('sa', tests.add_service(pg_temp.fx('ta'), pg_temp.fx('bx'), 'Teller', 'A')),
    ('sb', tests.add_service(pg_temp.fx('ta'), pg_temp.fx('bx'), 'Loans', 'B')),
    ('sy', tests.add_service(pg_temp.fx('ta'), pg_temp.fx('by'), 'Teller Y', 'Y')),
    ('sz', tests.add_service(pg_temp.fx('tb'), pg_temp.fx('bb'), 'Teller B', 'Z'));
-- Counters, all available: c1 serves A, c2 serves A and B, c3 serves B; cy serves Y; cz (tenant B) serves Z.
insert into fx values ('c1', tests.add_counter(pg_temp.fx('ta'), pg_temp.fx('bx'), 'Counter 1', array[pg_temp.fx('sa')])),
    ('c2', tests.add_counter(pg_temp.fx('ta'), pg_temp.fx('bx'), 'Counter 2', array[pg_temp.fx('sa'), pg_temp.fx('sb')])),
    ('c3', tests.add_counter(pg_temp.fx('ta'), pg_temp.fx('bx'), 'Counter 3', array[pg_temp.fx('sb')])),
    ('cy', tests.add_counter(pg_temp.fx('ta'), pg_temp.fx('by'), 'Counter Y', array[pg_temp.fx('sy')])),
    ('cz', tests.add_counter(pg_temp.fx('tb'), pg_temp.fx('bb'), 'Counter Z', array[pg_temp.fx('sz')]));
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
