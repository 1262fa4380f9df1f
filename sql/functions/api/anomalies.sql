-- Anomaly rules and alerts (US-ANALYT-007). Rules are per service; the anomaly worker evaluates them
-- (worker.evaluate_anomalies) and keeps one alert per episode.
--
-- api.create_anomaly_rule(service_id, rule_kind, threshold, window_minutes, min_tickets) -> the rule. Kinds:
--   waiting_over (threshold = tickets waiting), p90_wait_over_sla (threshold = k: p90 wait of the tickets
--   first called in the last window_minutes > k x the service's SLA), no_show_spike (threshold = share 0..1
--   of no-shows among the tickets ended in the window, with at least min_tickets ended).
--   Supervisors (their branches) and admins. Errors: PT403 FORBIDDEN, PT404 SERVICE_NOT_FOUND, PT400
--   INVALID_ANOMALY_RULE (unknown kind, threshold not > 0 (share: not in 0..1), window 1..1440, min_tickets
--   1..10000). Audited (anomaly_rule.create).
-- api.list_anomaly_rules(branch_id) -> the rules of the caller's branches (or one branch).
-- api.list_anomaly_alerts(branch_id, open_only) -> alerts of the caller's branches, newest first (500 at
--   most): {alert_id, rule_id, branch_id, service_id, kind, raised_at, raised_value, last_value, cleared_at}.
--   Staff of the branch (agents, supervisors, admins) and analysts. PT404 BRANCH_NOT_FOUND.
create or replace function api.create_anomaly_rule(
    service_id uuid,
    rule_kind text,
    threshold numeric,
    window_minutes integer default 30,
    min_tickets integer default 5
) returns jsonb
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
    v_service qms.services;
    v_row qms.anomaly_rules;
begin
    perform qms.require_role('qms_supervisor', 'qms_admin');
    v_tenant := qms.require_tenant();
    select * into v_service from qms.services s where s.tenant_id = v_tenant and s.service_id = create_anomaly_rule.service_id;
    if not found then
        perform qms.fail(404, 'SERVICE_NOT_FOUND', 'service not found', 'Pick a service of your branches.');
    end if;
    if create_anomaly_rule.rule_kind is null or create_anomaly_rule.rule_kind not in ('waiting_over', 'p90_wait_over_sla', 'no_show_spike')
       or create_anomaly_rule.threshold is null or create_anomaly_rule.threshold <= 0
       or (create_anomaly_rule.rule_kind = 'no_show_spike' and create_anomaly_rule.threshold > 1)
       or create_anomaly_rule.window_minutes is null or create_anomaly_rule.window_minutes not between 1 and 1440
       or create_anomaly_rule.min_tickets is null or create_anomaly_rule.min_tickets not between 1 and 10000 then
        perform qms.fail(400, 'INVALID_ANOMALY_RULE',
                         'rule_kind must be waiting_over, p90_wait_over_sla or no_show_spike, with a threshold > 0 '
                         '(a share <= 1 for no_show_spike), window_minutes 1..1440, min_tickets 1..10000',
                         'Pass e.g. rule_kind => ''waiting_over'', threshold => 20.');
    end if;
    insert into qms.anomaly_rules (tenant_id, branch_id, service_id, kind, threshold, window_minutes, min_tickets)
    values (v_tenant, v_service.branch_id, v_service.service_id, create_anomaly_rule.rule_kind, create_anomaly_rule.threshold,
            create_anomaly_rule.window_minutes, create_anomaly_rule.min_tickets)
    returning * into v_row;
    perform qms.audit_write('anomaly_rule.create', 'anomaly_rule', v_row.rule_id::text, null, to_jsonb(v_row));
    return to_jsonb(v_row) - 'tenant_id';
end
$$;
comment on function api.create_anomaly_rule(uuid, text, numeric, integer, integer) is
    'Create an anomaly rule of a service (supervisors, admins). PT404 SERVICE_NOT_FOUND, PT400 INVALID_ANOMALY_RULE.';

create or replace function api.list_anomaly_rules(branch_id uuid default null) returns jsonb
    language plpgsql stable
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_supervisor', 'qms_admin');
    v_tenant := qms.require_tenant();
    if list_anomaly_rules.branch_id is not null then
        perform qms.require_branch(list_anomaly_rules.branch_id);
    end if;
    return (select coalesce(jsonb_agg(to_jsonb(r) - 'tenant_id' order by r.created_at, r.rule_id), '[]')
            from qms.anomaly_rules r
            where r.tenant_id = v_tenant and (list_anomaly_rules.branch_id is null or r.branch_id = list_anomaly_rules.branch_id));
end
$$;
comment on function api.list_anomaly_rules(uuid) is 'Anomaly rules of the caller''s branches (supervisors, admins).';

create or replace function api.list_anomaly_alerts(branch_id uuid default null, open_only boolean default true)
    returns jsonb
    language plpgsql stable
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_agent', 'qms_supervisor', 'qms_admin', 'qms_analyst');
    v_tenant := qms.require_tenant();
    if list_anomaly_alerts.branch_id is not null then
        perform qms.require_branch(list_anomaly_alerts.branch_id);
    end if;
    return (select coalesce(jsonb_agg(to_jsonb(a) - 'tenant_id' order by a.raised_at desc, a.alert_id), '[]')
            from (select * from qms.anomaly_alerts x
                  where x.tenant_id = v_tenant
                    and (list_anomaly_alerts.branch_id is null or x.branch_id = list_anomaly_alerts.branch_id)
                    and (not coalesce(list_anomaly_alerts.open_only, true) or x.cleared_at is null)
                  order by x.raised_at desc limit 500) a);
end
$$;
comment on function api.list_anomaly_alerts(uuid, boolean) is
    'Anomaly alerts of the caller''s branches, newest first (open ones only by default). PT404 BRANCH_NOT_FOUND.';
