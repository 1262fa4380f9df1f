-- Claims of the current request, read from request.jwt.claims (set per transaction by the gateway,
-- or by a DBA in psql). Every helper is stable and cheap: RLS policies call them per statement.

create or replace function qms.current_claims() returns jsonb
    language sql stable parallel safe
as $$
    select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;
comment on function qms.current_claims() is
    'The JSON claims of the current request (request.jwt.claims), {} when none are set.';

-- qms.claims_uuid_list(json): an array claim as an array literal: a JSON array of uuid strings becomes
-- '{a,b}'; anything else that is present (not an array, or an array holding a non-uuid) '{}', so a malformed
-- scope never widens into a tenant-wide one; absent or JSON null: null. Immutable, no errors.
create or replace function qms.claims_uuid_list(p_value jsonb) returns text
    language sql immutable parallel safe
as $$
    select case when coalesce(jsonb_typeof(p_value), 'null') = 'null' then null
                when jsonb_typeof(p_value) = 'array'
                     and p_value::text ~* '^\[("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"(, )?)*\]$'
                then translate(p_value::text, '[]"', '{}')
                else '{}' end
$$;
comment on function qms.claims_uuid_list(jsonb) is
    'A JSON array of uuid strings as an array literal; ''{}'' when malformed, null when absent.';

-- Parsed claims are cached per transaction. RLS evaluates the claim helpers once per statement per policy
-- term, and every evaluation used to parse the claims JSON again and match uuids with regular expressions
-- (5-18 us each, about a third of an engine command's CPU). qms.claims_load parses and validates the claims
-- once and keeps the results in transaction-local settings qms.claims.<key>, next to qms.claims.src, the
-- claims text they were derived from; qms.claim_cached(key) returns the cached value while
-- request.jwt.claims is still that text and reloads otherwise (a new transaction, or claims switched
-- mid-transaction as the tests and psql users do). Encoding: '' = absent (a local setting reverts to '' at
-- transaction end); tenant_id is the uuid text, '' when malformed; branch_ids / counter_ids an array literal,
-- '{}' when malformed. The cache grants nothing new: whoever can set qms.claims.* can set
-- request.jwt.claims itself. Parallel restricted (set_config). Errors: 22P02 when the claims are not JSON,
-- as before the cache. No locks.
create or replace function qms.claims_load(p_key text) returns text
    language plpgsql stable parallel restricted
as $$
declare
    v_src text := coalesce(current_setting('request.jwt.claims', true), '');
    v_claims jsonb := qms.current_claims();
    v_tenant text;
    v_branches text;
    v_counters text;
begin
    if jsonb_typeof(v_claims) <> 'object' then
        v_claims := '{}';
    end if;
    v_tenant := v_claims ->> 'tenant_id';
    if not v_tenant ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        v_tenant := null;
    end if;
    v_branches := qms.claims_uuid_list(v_claims -> 'branch_ids');
    v_counters := qms.claims_uuid_list(v_claims -> 'counter_ids');
    perform set_config('qms.claims.tenant_id', coalesce(v_tenant, ''), true),
            set_config('qms.claims.role', coalesce(v_claims ->> 'role', ''), true),
            set_config('qms.claims.sub', coalesce(v_claims ->> 'sub', ''), true),
            set_config('qms.claims.branch_ids', coalesce(v_branches, ''), true),
            set_config('qms.claims.counter_ids', coalesce(v_counters, ''), true),
            set_config('qms.claims.src', v_src, true);
    return current_setting('qms.claims.' || p_key);
end
$$;
comment on function qms.claims_load(text) is
    'Parse and validate request.jwt.claims into the transaction-local cache qms.claims.*; returns one key '
    '(empty when absent).';

create or replace function qms.claim_cached(p_key text) returns text
    language sql stable parallel restricted
as $$
    -- One expression without sub-queries, so the planner inlines it into the caller.
    select case when coalesce(current_setting('request.jwt.claims', true), '') = current_setting('qms.claims.src', true)
                then current_setting('qms.claims.' || p_key)
                else qms.claims_load(p_key) end
$$;
comment on function qms.claim_cached(text) is
    'A validated claim (tenant_id, role, sub, branch_ids, counter_ids) from the per-transaction cache; '
    'empty when absent.';

create or replace function qms.current_tenant_id() returns uuid
    language sql stable parallel restricted
as $$
    select nullif(qms.claim_cached('tenant_id'), '')::uuid
$$;
comment on function qms.current_tenant_id() is
    'tenant_id claim as uuid; null when absent or malformed (RLS then matches nothing).';

create or replace function qms.current_role_name() returns text
    language sql stable parallel restricted
as $$
    select coalesce(nullif(qms.claim_cached('role'), ''), current_user::text)
$$;
comment on function qms.current_role_name() is 'role claim (qms_agent, …), else the database role.';

create or replace function qms.current_sub() returns text
    language sql stable parallel restricted
as $$
    select nullif(qms.claim_cached('sub'), '')
$$;
comment on function qms.current_sub() is 'sub claim: the acting user, device or worker id.';

create or replace function qms.claim_uuid_array(p_key text) returns uuid[]
    language sql stable parallel restricted
as $$
    -- The cached array claims (branch_ids, counter_ids): null when absent, empty when malformed.
    select nullif(qms.claim_cached(p_key), '')::uuid[]
$$;
comment on function qms.claim_uuid_array(text) is
    'A claim holding an array of uuids (branch_ids, counter_ids); null when absent, empty when malformed.';

create or replace function qms.current_branch_ids() returns uuid[]
    language sql stable parallel restricted
as $$
    select qms.claim_uuid_array('branch_ids')
$$;
comment on function qms.current_branch_ids() is 'branch_ids claim; null means tenant-wide (admin, analyst, worker).';

create or replace function qms.can_see_branch(p_branch_id uuid) returns boolean
    language sql stable parallel restricted
as $$
    -- Tenant-wide scope (no branch_ids claim) is only for admins, analysts and workers; branch-scoped
    -- roles without the claim see nothing rather than everything.
    select case
        when qms.current_branch_ids() is null then current_user in ('qms_admin', 'qms_analyst', 'qms_worker')
        else p_branch_id = any (qms.current_branch_ids())
    end
$$;
comment on function qms.can_see_branch(uuid) is
    'Whether the current claims reach a branch: in branch_ids, or tenant-wide for admin/analyst/worker.';

create or replace function qms.can_use_counter(p_branch_id uuid, p_counter_id uuid) returns boolean
    language sql stable parallel restricted
as $$
    select qms.can_see_branch(p_branch_id)
       and (qms.claim_uuid_array('counter_ids') is null
            or current_user in ('qms_supervisor', 'qms_admin')
            or p_counter_id = any (qms.claim_uuid_array('counter_ids')))
$$;
comment on function qms.can_use_counter(uuid, uuid) is
    'Whether the current claims may operate a counter: its branch is in scope and, for agents with a '
    'counter_ids claim, the counter is listed.';

create or replace function qms.require_tenant() returns uuid
    language plpgsql stable
as $$
declare
    v_tenant uuid := qms.current_tenant_id();
begin
    if v_tenant is null then
        raise exception 'no tenant in the request claims'
            using errcode = 'PT401', detail = 'TENANT_REQUIRED',
                  hint = 'Authenticate with a token that carries a tenant_id claim.';
    end if;
    return v_tenant;
end
$$;
comment on function qms.require_tenant() is
    'The tenant of the request. Raises PT401 TENANT_REQUIRED when the claims carry none.';

create or replace function qms.request_header(p_name text) returns text
    language sql stable parallel safe
as $$
    select coalesce(nullif(current_setting('request.headers', true), ''), '{}')::jsonb ->> lower(p_name)
$$;
comment on function qms.request_header(text) is 'A request header set by the gateway (lower-case name), or null.';

create or replace function qms.tenant_match(p_tenant_id uuid) returns boolean
    language sql stable parallel restricted
as $$
    -- A worker without a tenant claim serves every tenant (sweeper, notifier); everyone else sees only
    -- the tenant of their claims.
    select p_tenant_id = qms.current_tenant_id()
        or (current_user = 'qms_worker' and qms.current_tenant_id() is null)
$$;
comment on function qms.tenant_match(uuid) is
    'Row belongs to the request''s tenant (or the caller is a tenant-less worker serving all tenants).';

create or replace function qms.row_visible(p_tenant_id uuid, p_branch_id uuid) returns boolean
    language sql stable parallel restricted
as $$
    select qms.tenant_match(p_tenant_id)
       and (qms.current_tenant_id() is null or qms.can_see_branch(p_branch_id))
$$;
comment on function qms.row_visible(uuid, uuid) is 'Tenant match plus branch scope: the common RLS predicate.';

create or replace function qms.branch_scope_all() returns boolean
    language sql stable parallel restricted
as $$
    select qms.current_branch_ids() is null and current_user in ('qms_admin', 'qms_analyst', 'qms_worker')
$$;
comment on function qms.branch_scope_all() is
    'Whether the request is tenant-wide (no branch_ids claim, and a role that may be tenant-wide).';

create or replace function qms.is_tenantless_worker() returns boolean
    language sql stable parallel restricted
as $$
    select current_user = 'qms_worker' and qms.current_tenant_id() is null
$$;
comment on function qms.is_tenantless_worker() is 'A worker without a tenant claim: it serves every tenant.';
