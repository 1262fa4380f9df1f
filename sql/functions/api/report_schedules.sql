-- Scheduled KPI reports (US-ANALYT-006): admins schedule a daily or weekly report of a branch by e-mail.
--
-- api.create_report_schedule(branch_id, name, frequency, local_time, recipients, service_ids, weekday, timezone)
--   -> the schedule (its kind = frequency): daily (every day at local_time 'HH:MM') or weekly (on weekday 0 = Sunday .. 6, at
--   local_time); the time zone defaults to the branch's. The cron line is derived here (5 fields); the worker
--   plans and sends the runs (report of the previous day, or of the 7 days before the sending day).
--   Errors: PT403 FORBIDDEN (not an admin), PT401 TENANT_REQUIRED, PT400 INVALID_NAME / INVALID_REPORT_KIND /
--   INVALID_LOCAL_TIME / INVALID_WEEKDAY / INVALID_RECIPIENTS / INVALID_TIMEZONE / SERVICE_NOT_IN_BRANCH,
--   PT404 BRANCH_NOT_FOUND / SERVICE_NOT_FOUND. Audited (report_schedule.create). Not idempotent, no locks.
-- api.list_report_schedules() -> jsonb array of the tenant's schedules (admins; branch-scoped admins theirs).
-- api.delete_report_schedule(schedule_id) -> void; its runs go with it. PT404 REPORT_SCHEDULE_NOT_FOUND.
create or replace function api.create_report_schedule(
    branch_id uuid,
    name text,
    frequency text,
    local_time text,
    recipients text[],
    service_ids uuid[] default null,
    weekday integer default 1,
    timezone text default null
) returns jsonb
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
    v_tz text;
    v_row qms.report_schedules;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    perform qms.require_branch(create_report_schedule.branch_id);
    if create_report_schedule.frequency is null or create_report_schedule.frequency not in ('daily', 'weekly') then
        perform qms.fail(400, 'INVALID_REPORT_KIND', 'frequency must be daily or weekly', 'Pass daily or weekly.');
    end if;
    if create_report_schedule.local_time is null or create_report_schedule.local_time !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$' then
        perform qms.fail(400, 'INVALID_LOCAL_TIME', 'local_time must be HH:MM (00:00..23:59)', 'Pass e.g. 07:30.');
    end if;
    if create_report_schedule.weekday is null or create_report_schedule.weekday not between 0 and 6 then
        perform qms.fail(400, 'INVALID_WEEKDAY', 'weekday must be 0 (Sunday) .. 6', 'Pass e.g. 1 for Monday.');
    end if;
    if create_report_schedule.recipients is null or cardinality(create_report_schedule.recipients) not between 1 and 50
       or exists (select 1 from unnest(create_report_schedule.recipients) r
                  where r is null or length(r) > 254 or r !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$') then
        perform qms.fail(400, 'INVALID_RECIPIENTS', 'recipients must be 1 to 50 e-mail addresses',
                         'Pass e.g. {"ops@example.com"}.');
    end if;
    if create_report_schedule.service_ids is not null then
        perform qms.require_services_in_branch(create_report_schedule.branch_id, create_report_schedule.service_ids);
    end if;
    select coalesce(create_report_schedule.timezone, b.timezone) into v_tz
    from qms.branches b where b.tenant_id = v_tenant and b.branch_id = create_report_schedule.branch_id;
    perform qms.validate_timezone(v_tz);
    insert into qms.report_schedules as s (tenant_id, branch_id, service_ids, name, kind, cron, timezone, recipients)
    values (v_tenant, create_report_schedule.branch_id, create_report_schedule.service_ids,
            qms.validate_name(create_report_schedule.name, 200), create_report_schedule.frequency,
            format('%s %s * * %s', split_part(create_report_schedule.local_time, ':', 2)::integer,
                   split_part(create_report_schedule.local_time, ':', 1)::integer,
                   case create_report_schedule.frequency when 'weekly' then create_report_schedule.weekday::text else '*' end),
            v_tz, create_report_schedule.recipients)
    returning * into v_row;
    perform qms.audit_write('report_schedule.create', 'report_schedule', v_row.schedule_id::text, null, to_jsonb(v_row));
    return to_jsonb(v_row) - 'tenant_id';
end
$$;
comment on function api.create_report_schedule(uuid, text, text, text, text[], uuid[], integer, text) is
    'Schedule a daily or weekly KPI report of a branch by e-mail (admins). PT400 INVALID_REPORT_KIND/'
    'INVALID_LOCAL_TIME/INVALID_WEEKDAY/INVALID_RECIPIENTS/INVALID_TIMEZONE, PT404 BRANCH_NOT_FOUND.';

create or replace function api.list_report_schedules() returns jsonb
    language plpgsql stable
    security invoker
as $$
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    return (select coalesce(jsonb_agg(to_jsonb(s) - 'tenant_id' order by s.name, s.schedule_id), '[]')
            from qms.report_schedules s where s.tenant_id = v_tenant);
end
$$;
comment on function api.list_report_schedules() is 'The tenant''s scheduled reports (admins).';

create or replace function api.delete_report_schedule(schedule_id uuid) returns void
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
    v_row qms.report_schedules;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    delete from qms.report_schedules s
    where s.tenant_id = v_tenant and s.schedule_id = delete_report_schedule.schedule_id
    returning * into v_row;
    if not found then
        perform qms.fail(404, 'REPORT_SCHEDULE_NOT_FOUND', 'report schedule not found',
                         'Use an id from api.list_report_schedules().');
    end if;
    perform qms.audit_write('report_schedule.delete', 'report_schedule', v_row.schedule_id::text, to_jsonb(v_row), null);
end
$$;
comment on function api.delete_report_schedule(uuid) is
    'Delete a scheduled report and its runs (admins). PT404 REPORT_SCHEDULE_NOT_FOUND.';
