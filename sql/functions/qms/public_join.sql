-- Joining a queue from the web without an account (spec §11.5): the per-branch join link
-- /apps/public/#b=<tenant slug>.<branch code> (a branch without a code has no join link).
--
-- qms.public_branch(code) -> the branch row the code names (active tenant and branch), owner only.
--   Errors: PT404 BRANCH_NOT_FOUND (malformed or unknown code, inactive tenant or branch).
-- qms.public_branch_view(code): the join page: branch name, timezone, open now, the tenant's branding,
--   whether contact data may be left (qms.tenant_keeps_contacts), and the active services with
--   open now, waiting count and the estimated wait of a new regular ticket (qms.queue_estimate_of, the
--   engine's one estimate). No ids but the services'. Security definer (the request carries no tenant).
-- qms.public_join(code, service_id, contact, request_id): issue a web ticket as the anonymous customer:
--   runs api.create_ticket (channel web, regular) with claims of that tenant and branch for the duration
--   of the call, so every rule of ticket issue (hours, numbering, idempotency, the one writer) applies
--   unchanged; the caller's claims are restored afterwards. Errors: PT404 BRANCH_NOT_FOUND,
--   PT404 SERVICE_NOT_FOUND (not an active service of that branch), and those of api.create_ticket
--   (CONTACT_NOT_ALLOWED when the tenant keeps no contact data, BRANCH_CLOSED, SERVICE_CLOSED,
--   CONSENT_REQUIRED, INVALID_CONTACT, IDEMPOTENCY_KEY_REUSED). Locking: as api.create_ticket.
create or replace function qms.public_branch(p_code text) returns qms.branches
    language plpgsql stable
as $$
declare
    v_branch qms.branches;
begin
    select b.* into v_branch
    from qms.tenants t
    join qms.branches b on b.tenant_id = t.tenant_id
    where t.slug = split_part(p_code, '.', 1) and b.code = split_part(p_code, '.', 2)
      and p_code ~ '^[a-z0-9][a-z0-9-]{1,62}\.[A-Za-z0-9_-]{1,32}$' and t.is_active and b.is_active;
    if not found then
        perform qms.fail(404, 'BRANCH_NOT_FOUND', 'no branch has this join link',
                         'Scan the QR code at the branch again, or ask the staff for the link.');
    end if;
    return v_branch;
end
$$;
comment on function qms.public_branch(text) is
    'The active branch named by a join code <tenant slug>.<branch code>; PT404 BRANCH_NOT_FOUND. Owner only.';
revoke all on function qms.public_branch(text) from public;

create or replace function qms.public_branch_view(p_code text) returns jsonb
    language plpgsql stable
    security definer
    set search_path = ''
as $$
declare
    v_branch qms.branches := qms.public_branch(p_code);
    v_tail qms.tickets;
begin
    v_tail.tenant_id := v_branch.tenant_id;
    v_tail.status := 'waiting';
    v_tail.priority_rank := 3;
    v_tail.queued_at := clock_timestamp();  -- a new ticket queues behind every waiting one
    return (
        select pg_catalog.jsonb_build_object(
            'code', p_code, 'branch_name', v_branch.name, 'timezone', v_branch.timezone,
            'is_open', qms.is_open(v_branch.hours, v_branch.timezone),
            'tenant_name', t.name, 'branding', t.branding,
            'contacts_allowed', qms.tenant_keeps_contacts(t.tenant_id),
            'services', coalesce((
                select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                           'service_id', s.service_id, 'name', s.name, 'prefix', s.prefix,
                           'is_open', qms.is_open(s.hours, v_branch.timezone),
                           'waiting_count', (e.est ->> 'position')::integer - 1,
                           'estimated_wait_seconds', (e.est ->> 'estimated_wait_seconds')::integer)
                           order by s.name)
                from qms.services s
                cross join lateral (
                    select qms.queue_estimate_of(pg_catalog.jsonb_populate_record(v_tail,
                               pg_catalog.jsonb_build_object('service_id', s.service_id))) as est) e
                where s.tenant_id = v_branch.tenant_id and s.branch_id = v_branch.branch_id and s.is_active),
                '[]'::jsonb))
        from qms.tenants t where t.tenant_id = v_branch.tenant_id);
end
$$;
comment on function qms.public_branch_view(text) is
    'The public join page of a branch: open now, services with waiting count and estimated wait. '
    'PT404 BRANCH_NOT_FOUND.';
revoke all on function qms.public_branch_view(text) from public;
grant execute on function qms.public_branch_view(text) to qms_anon;

create or replace function qms.public_join(p_code text, p_service_id uuid, p_contact jsonb, p_request_id uuid)
    returns jsonb
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_branch qms.branches := qms.public_branch(p_code);
    v_claims text := pg_catalog.current_setting('request.jwt.claims', true);
    v_ticket jsonb;
begin
    if not exists (select 1 from qms.services s
                   where s.tenant_id = v_branch.tenant_id and s.branch_id = v_branch.branch_id
                     and s.service_id = p_service_id and s.is_active) then
        perform qms.fail(404, 'SERVICE_NOT_FOUND', 'this branch has no such service', 'Pick a service from the list.');
    end if;
    perform pg_catalog.set_config('request.jwt.claims', pg_catalog.jsonb_build_object(
        'role', 'qms_anon', 'tenant_id', v_branch.tenant_id, 'sub', 'web',
        'branch_ids', pg_catalog.jsonb_build_array(v_branch.branch_id))::text, true);
    v_ticket := api.create_ticket(service_id => p_service_id, channel => 'web', priority_class => 'regular',
                                  request_id => p_request_id, contact => p_contact);
    perform pg_catalog.set_config('request.jwt.claims', coalesce(v_claims, ''), true);
    return v_ticket;
end
$$;
comment on function qms.public_join(text, uuid, jsonb, uuid) is
    'Issue a web ticket for an anonymous customer through a branch''s join code (api.create_ticket rules). '
    'PT404 BRANCH_NOT_FOUND/SERVICE_NOT_FOUND, PT400 CONTACT_NOT_ALLOWED.';
revoke all on function qms.public_join(text, uuid, jsonb, uuid) from public;
grant execute on function qms.public_join(text, uuid, jsonb, uuid) to qms_anon;
