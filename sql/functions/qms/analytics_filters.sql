-- Helpers of the analytics reads (api.kpi, api.kpi_tickets).
--
-- qms.analytics_require_filters(from_date, to_date, branch_id, service_id, priority_class, channel): the
--   shared checks of a KPI request. Errors: PT400 INVALID_RANGE (a date missing, from after to, or more than
--   366 days), PT400 INVALID_FILTER (unknown priority class or channel), PT404 BRANCH_NOT_FOUND /
--   SERVICE_NOT_FOUND (unknown, another tenant's, or outside the caller's branches), PT400
--   SERVICE_NOT_IN_BRANCH. Stable, no locks.
-- qms.branch_time_text(ts, timezone): an instant as ISO 8601 in branch time with its UTC offset
--   (2026-12-06T09:15:02.5+07:00); null stays null. Stable (time zone rules), no errors for a known zone.
create or replace function qms.analytics_require_filters(p_from date, p_to date, p_branch_id uuid, p_service_id uuid,
                                                         p_priority_class text, p_channel text) returns void
    language plpgsql stable
as $$
begin
    if p_from is null or p_to is null or p_from > p_to or p_to - p_from > 366 then
        perform qms.fail(400, 'INVALID_RANGE', 'from_date and to_date must be set, in order, at most 366 days apart',
                         'Pass e.g. from_date => ''2026-12-01'', to_date => ''2026-12-31'' (both inclusive).');
    end if;
    if p_priority_class is not null and p_priority_class not in ('regular', 'priority', 'vip', 'emergency') then
        perform qms.fail(400, 'INVALID_FILTER', format('unknown priority class %s', p_priority_class),
                         'Use regular, priority, vip or emergency.');
    end if;
    if p_channel is not null and p_channel not in ('kiosk', 'web', 'mobile', 'staff', 'api') then
        perform qms.fail(400, 'INVALID_FILTER', format('unknown channel %s', p_channel),
                         'Use kiosk, web, mobile, staff or api.');
    end if;
    if p_branch_id is not null then
        perform qms.require_branch(p_branch_id);
        perform qms.require_service_of_branch(p_branch_id, p_service_id);
    elsif p_service_id is not null and not exists (
        select 1 from qms.services s where s.tenant_id = qms.current_tenant_id() and s.service_id = p_service_id
          and qms.can_see_branch(s.branch_id)) then
        perform qms.fail(404, 'SERVICE_NOT_FOUND', 'service not found',
                         'The service id is unknown or outside your tenant or branch scope.');
    end if;
end
$$;
comment on function qms.analytics_require_filters(date, date, uuid, uuid, text, text) is
    'Checks of a KPI request: PT400 INVALID_RANGE/INVALID_FILTER/SERVICE_NOT_IN_BRANCH, '
    'PT404 BRANCH_NOT_FOUND/SERVICE_NOT_FOUND.';

create or replace function qms.branch_time_text(p_ts timestamptz, p_timezone text) returns text
    language sql stable parallel safe
as $$
    select to_char(p_ts at time zone p_timezone, 'YYYY-MM-DD"T"HH24:MI:SS.US')
           || case when extract(epoch from (p_ts at time zone p_timezone) - (p_ts at time zone 'UTC')) < 0
                   then '-' else '+' end
           || to_char(make_interval(secs => abs(extract(epoch from (p_ts at time zone p_timezone)
                                                         - (p_ts at time zone 'UTC')))), 'HH24:MI')
$$;
comment on function qms.branch_time_text(timestamptz, text) is
    'An instant as ISO 8601 in a branch''s time zone with its offset (null stays null).';
