-- The report worker's steps (workers/reports.py). qms_worker only (PT403 FORBIDDEN otherwise).
--
-- worker.claim_report_schedules(max_rows): active schedules due for planning (next_run_at null or past),
--   locked `for update skip locked` until the caller's transaction ends (two planners never plan the same
--   schedule at once). PT400 INVALID_MAX_ROWS (1..1000).
-- worker.plan_report_run(tenant_id, schedule_id, period_start, period_end, next_run_at): in the planner's
--   transaction: when period_start is not null, the run of that period (insert; the unique (schedule,
--   period) key makes a second plan of the same period a no-op), then the schedule's next_run_at. Returns
--   whether a run was created.
-- worker.claim_report_run(): the next run to send (pending and due, or sending with an expired lease: its
--   worker died), locked `for update skip locked`, marked sending with a 5-minute lease and one more attempt;
--   with its schedule and the tenant's e-mail provider of the notification pipeline ({kind, config, secret}
--   as worker.claim_notifications gives it, or null: the platform's QMS_SMTP_URL), as jsonb; null when none.
-- worker.finish_report_run(tenant_id, run_id, error): sent (error null), else pending again after a backoff
--   of 30 s x 2^attempts, or failed after 5 attempts (last error kept).
create or replace function worker.claim_report_schedules(max_rows integer default 100)
    returns setof qms.report_schedules
    language plpgsql
    security invoker
as $$
begin
    perform qms.require_role('qms_worker');
    perform qms.require_max_rows(claim_report_schedules.max_rows, 1000, 100);
    return query
    select s.* from qms.report_schedules s
    where s.is_active and (s.next_run_at is null or s.next_run_at <= now())
    order by s.next_run_at nulls first
    limit claim_report_schedules.max_rows
    for update skip locked;
end
$$;
comment on function worker.claim_report_schedules(integer) is
    'Lock the report schedules due for planning (skip locked). PT403 FORBIDDEN, PT400 INVALID_MAX_ROWS.';

create or replace function worker.plan_report_run(tenant_id uuid, schedule_id uuid, period_start date,
                                                  period_end date, next_run_at timestamptz) returns boolean
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_created boolean := false;
begin
    perform qms.require_role('qms_worker');
    if plan_report_run.period_start is not null then
        insert into qms.report_runs (tenant_id, schedule_id, period_start, period_end)
        values (plan_report_run.tenant_id, plan_report_run.schedule_id, plan_report_run.period_start,
                plan_report_run.period_end)
        on conflict (tenant_id, schedule_id, period_start) do nothing;
        v_created := found;
    end if;
    update qms.report_schedules s set next_run_at = plan_report_run.next_run_at
    where s.tenant_id = plan_report_run.tenant_id and s.schedule_id = plan_report_run.schedule_id;
    return v_created;
end
$$;
comment on function worker.plan_report_run(uuid, uuid, date, date, timestamptz) is
    'Create the run of a period (once per schedule and period) and move the schedule''s next_run_at.';

create or replace function worker.claim_report_run() returns jsonb
    language plpgsql
    security invoker
as $$
declare
    v_run qms.report_runs;
    v_schedule qms.report_schedules;
begin
    perform qms.require_role('qms_worker');
    select * into v_run from qms.report_runs r
    where (r.status = 'pending' and r.next_attempt_at <= now()) or (r.status = 'sending' and r.lease_until < now())
    order by r.next_attempt_at
    limit 1
    for update skip locked;
    if not found then
        return null;
    end if;
    update qms.report_runs r
       set status = 'sending', attempts = r.attempts + 1, lease_until = now() + interval '5 minutes'
     where r.tenant_id = v_run.tenant_id and r.run_id = v_run.run_id
    returning * into v_run;
    select * into v_schedule from qms.report_schedules s
    where s.tenant_id = v_run.tenant_id and s.schedule_id = v_run.schedule_id;
    return to_jsonb(v_run) || jsonb_build_object(
        'schedule', to_jsonb(v_schedule),
        'provider', (select jsonb_build_object('kind', pr.kind, 'config', pr.config, 'secret', pr.secret)
                     from qms.notification_providers pr
                     where pr.tenant_id = v_run.tenant_id and pr.channel = 'email'));
end
$$;
comment on function worker.claim_report_run() is
    'Claim the next report run to send under a 5-minute lease (skip locked); null when none.';

create or replace function worker.finish_report_run(tenant_id uuid, run_id uuid, error text default null)
    returns text
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_status text;
begin
    perform qms.require_role('qms_worker');
    update qms.report_runs r
       set status = case when finish_report_run.error is null then 'sent'
                         when r.attempts >= 5 then 'failed' else 'pending' end,
           sent_at = case when finish_report_run.error is null then now() end,
           last_error = left(finish_report_run.error, 1000), lease_until = null,
           next_attempt_at = now() + make_interval(secs => 30 * 2 ^ r.attempts)
     where r.tenant_id = finish_report_run.tenant_id and r.run_id = finish_report_run.run_id
    returning r.status into v_status;
    return v_status;
end
$$;
comment on function worker.finish_report_run(uuid, uuid, text) is
    'Mark a report run sent, or pending again with backoff, or failed after 5 attempts; returns the status.';
