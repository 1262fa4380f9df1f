-- Guards of the admin api: the branch, area or services named by a call must be visible to the
-- caller (RLS decides) and belong together. They raise PT404 / PT400 and take no locks.

-- qms.require_branch: the branch must exist in the caller's tenant and scope (RLS decides visibility).
-- Errors: PT404 BRANCH_NOT_FOUND. Returns the branch id. No locks.
create or replace function qms.require_branch(p_branch_id uuid) returns uuid
    language plpgsql stable
as $$
begin
    if p_branch_id is null or not exists (
        select 1 from qms.branches b where b.tenant_id = qms.current_tenant_id() and b.branch_id = p_branch_id) then
        perform qms.fail(404, 'BRANCH_NOT_FOUND', 'branch not found',
                         'The branch id is unknown or outside your tenant or branch scope.');
    end if;
    return p_branch_id;
end
$$;
comment on function qms.require_branch(uuid) is
    'The branch id when the caller can see that branch; PT404 BRANCH_NOT_FOUND otherwise.';

-- qms.require_area: a non-null area must be visible and belong to p_branch_id. Null passes.
-- Errors: PT404 AREA_NOT_FOUND, PT400 AREA_NOT_IN_BRANCH. No locks.
create or replace function qms.require_area(p_branch_id uuid, p_area_id uuid) returns void
    language plpgsql stable
as $$
declare
    v_branch uuid;
begin
    if p_area_id is null then
        return;
    end if;
    select a.branch_id into v_branch from qms.areas a
    where a.tenant_id = qms.current_tenant_id() and a.area_id = p_area_id;
    if not found then
        perform qms.fail(404, 'AREA_NOT_FOUND', 'area not found');
    elsif v_branch <> p_branch_id then
        perform qms.fail(400, 'AREA_NOT_IN_BRANCH', 'the area belongs to another branch',
                         'Pick an area of the same branch.');
    end if;
end
$$;
comment on function qms.require_area(uuid, uuid) is
    'Null, or an area of the given branch; PT404 AREA_NOT_FOUND / PT400 AREA_NOT_IN_BRANCH otherwise.';

-- qms.require_services_in_branch: every id must be a visible service of p_branch_id.
-- Errors: PT404 SERVICE_NOT_FOUND (unknown or invisible), PT400 SERVICE_NOT_IN_BRANCH. No locks.
create or replace function qms.require_services_in_branch(p_branch_id uuid, p_service_ids uuid[]) returns void
    language plpgsql stable
as $$
declare
    v_missing uuid;
begin
    select x into v_missing from unnest(p_service_ids) x
    where x is null or not exists (
        select 1 from qms.services s where s.tenant_id = qms.current_tenant_id() and s.service_id = x)
    limit 1;
    if found then
        perform qms.fail(404, 'SERVICE_NOT_FOUND', format('service %s not found', coalesce(v_missing::text, 'null')));
    end if;
    if exists (select 1 from qms.services s
               where s.tenant_id = qms.current_tenant_id() and s.service_id = any (p_service_ids)
                 and s.branch_id <> p_branch_id) then
        perform qms.fail(400, 'SERVICE_NOT_IN_BRANCH', 'the service belongs to another branch',
                         'Use services of the same branch.');
    end if;
end
$$;
comment on function qms.require_services_in_branch(uuid, uuid[]) is
    'All ids are visible services of the branch; PT404 SERVICE_NOT_FOUND / PT400 SERVICE_NOT_IN_BRANCH otherwise.';

-- qms.require_service_of_branch: a non-null service must be visible and belong to the branch.
-- Errors: PT404 SERVICE_NOT_FOUND, PT400 SERVICE_NOT_IN_BRANCH. No locks.
create or replace function qms.require_service_of_branch(p_branch_id uuid, p_service_id uuid) returns void
    language plpgsql stable
as $$
begin
    if p_service_id is not null then
        perform qms.require_services_in_branch(p_branch_id, array[p_service_id]);
    end if;
end
$$;
comment on function qms.require_service_of_branch(uuid, uuid) is
    'Null, or a visible service of the branch; PT404 SERVICE_NOT_FOUND / PT400 SERVICE_NOT_IN_BRANCH otherwise.';
