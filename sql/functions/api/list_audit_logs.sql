-- api.list_audit_logs: read the tenant's audit trail, newest first.
-- Filters: from_ts <= created_at < to_ts, actor (actor_sub, exact), action (exact, or a family: 'branch'
-- matches 'branch.create' and 'branch.update'), target (a target_type such as 'ticket', or one target_id),
-- at most max_rows (1..1000). Branch-scoped callers see only
-- entries about objects of their branches (the object's branch_id in before/after).
-- Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_MAX_ROWS / INVALID_RANGE. Read-only.
create or replace function api.list_audit_logs(
    from_ts timestamptz default null,
    to_ts timestamptz default null,
    actor text default null,
    action text default null,
    max_rows integer default 100,
    target text default null
) returns jsonb
    language plpgsql stable
as $$
declare
    v_tenant uuid;
    v_scope uuid[];
begin
    perform qms.require_role('qms_admin', 'qms_supervisor');
    v_tenant := qms.require_tenant();
    perform qms.require_max_rows(list_audit_logs.max_rows, 1000, 100);
    if list_audit_logs.from_ts > list_audit_logs.to_ts then
        perform qms.fail(400, 'INVALID_RANGE', 'from_ts must not be after to_ts');
    end if;
    v_scope := qms.current_branch_ids();
    return coalesce((
        select jsonb_agg(e.entry order by e.created_at desc, e.seq desc)
        from (
            select l.seq, l.created_at,
                   jsonb_build_object(
                       'seq', l.seq, 'tenant_id', l.tenant_id, 'actor_sub', l.actor_sub, 'actor_role', l.actor_role,
                       'action', l.action, 'target_type', l.target_type, 'target_id', l.target_id,
                       'before', l.before, 'after', l.after, 'ip', l.ip, 'user_agent', l.user_agent,
                       'request_id', l.request_id, 'created_at', l.created_at) as entry
            from audit.log l
            where l.tenant_id = v_tenant
              and (list_audit_logs.from_ts is null or l.created_at >= list_audit_logs.from_ts)
              and (list_audit_logs.to_ts is null or l.created_at < list_audit_logs.to_ts)
              and (list_audit_logs.actor is null or l.actor_sub = list_audit_logs.actor)
              and (list_audit_logs.action is null or l.action = list_audit_logs.action
                   or starts_with(l.action, list_audit_logs.action || '.'))
              and (list_audit_logs.target is null or l.target_type = list_audit_logs.target
                   or l.target_id = list_audit_logs.target)
              and (v_scope is null
                   or coalesce(l.after ->> 'branch_id', l.before ->> 'branch_id') = any (v_scope::text[]))
            order by l.created_at desc, l.seq desc
            limit list_audit_logs.max_rows
        ) e), '[]'::jsonb);
end
$$;
comment on function api.list_audit_logs(timestamptz, timestamptz, text, text, integer, text) is
    'Audit entries of the caller''s tenant, newest first, filtered by time, actor, action and target (type or id) '
    '(admin, supervisor). '
    'PT400 INVALID_MAX_ROWS/INVALID_RANGE.';
