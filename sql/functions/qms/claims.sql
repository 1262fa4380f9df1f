-- Claims of the current request, read from request.jwt.claims (set per transaction by the gateway,
-- or by a DBA in psql). Every helper is stable and cheap: RLS policies call them per statement.

create or replace function qms.current_claims() returns jsonb
    language sql stable parallel safe
as $$
    select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;
comment on function qms.current_claims() is
    'The JSON claims of the current request (request.jwt.claims), {} when none are set.';

create or replace function qms.current_tenant_id() returns uuid
    language sql stable parallel safe
as $$
    -- One expression without sub-queries, so the planner inlines it into the caller.
    select case when qms.current_claims() ->> 'tenant_id'
                     ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                then (qms.current_claims() ->> 'tenant_id')::uuid end
$$;
comment on function qms.current_tenant_id() is
    'tenant_id claim as uuid; null when absent or malformed (RLS then matches nothing).';

create or replace function qms.current_role_name() returns text
    language sql stable parallel safe
as $$
    select coalesce(qms.current_claims() ->> 'role', current_user::text)
$$;
comment on function qms.current_role_name() is 'role claim (qms_agent, …), else the database role.';

create or replace function qms.current_sub() returns text
    language sql stable parallel safe
as $$
    select qms.current_claims() ->> 'sub'
$$;
comment on function qms.current_sub() is 'sub claim: the acting user, device or worker id.';

create or replace function qms.claim_uuid_array(p_key text) returns uuid[]
    language sql stable parallel safe
as $$
    -- One expression without sub-queries, so the planner inlines it. A JSON array of uuid strings is
    -- rewritten as an array literal ('["a", "b"]' -> '{a, b}'); anything else that is present (not an
    -- array, or an array holding a non-uuid) gives the empty array, so a malformed scope never widens into
    -- a tenant-wide one. Absent or JSON null: null.
    select case when coalesce(jsonb_typeof(qms.current_claims() -> p_key), 'null') = 'null' then null
                when (qms.current_claims() -> p_key)::text
                     ~* '^\[("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"(, )?)*\]$'
                then translate((qms.current_claims() -> p_key)::text, '[]"', '{}')::uuid[]
                else '{}'::uuid[]
           end
$$;
comment on function qms.claim_uuid_array(text) is
    'A claim holding an array of uuids (branch_ids, counter_ids); null when absent, empty when malformed.';

create or replace function qms.current_branch_ids() returns uuid[]
    language sql stable parallel safe
as $$
    select qms.claim_uuid_array('branch_ids')
$$;
comment on function qms.current_branch_ids() is 'branch_ids claim; null means tenant-wide (admin, analyst, worker).';

create or replace function qms.can_see_branch(p_branch_id uuid) returns boolean
    language sql stable parallel safe
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
    language sql stable parallel safe
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
    language sql stable parallel safe
as $$
    -- A worker without a tenant claim serves every tenant (sweeper, notifier); everyone else sees only
    -- the tenant of their claims.
    select p_tenant_id = qms.current_tenant_id()
        or (current_user = 'qms_worker' and qms.current_tenant_id() is null)
$$;
comment on function qms.tenant_match(uuid) is
    'Row belongs to the request''s tenant (or the caller is a tenant-less worker serving all tenants).';

create or replace function qms.row_visible(p_tenant_id uuid, p_branch_id uuid) returns boolean
    language sql stable parallel safe
as $$
    select qms.tenant_match(p_tenant_id)
       and (qms.current_tenant_id() is null or qms.can_see_branch(p_branch_id))
$$;
comment on function qms.row_visible(uuid, uuid) is 'Tenant match plus branch scope: the common RLS predicate.';

create or replace function qms.branch_scope_all() returns boolean
    language sql stable parallel safe
as $$
    select qms.current_branch_ids() is null and current_user in ('qms_admin', 'qms_analyst', 'qms_worker')
$$;
comment on function qms.branch_scope_all() is
    'Whether the request is tenant-wide (no branch_ids claim, and a role that may be tenant-wide).';

create or replace function qms.is_tenantless_worker() returns boolean
    language sql stable parallel safe
as $$
    select current_user = 'qms_worker' and qms.current_tenant_id() is null
$$;
comment on function qms.is_tenantless_worker() is 'A worker without a tenant claim: it serves every tenant.';
