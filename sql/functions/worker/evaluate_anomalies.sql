-- worker.evaluate_anomalies(max_rules): evaluate the active anomaly rules (qms_worker; tenant-less: all
--   tenants) and keep one alert per episode: a rule whose condition holds and has no open alert raises one
--   (raised_value); an open alert of a rule whose condition holds is updated (last_value); an open alert of a
--   rule whose condition no longer holds is cleared (cleared_at). Returns the number of alerts raised or
--   cleared. Values: waiting_over = tickets waiting in the service now; p90_wait_over_sla = p90 wait (s) of
--   the tickets first called in the last window_minutes, against threshold x sla_minutes x 60 (no tickets:
--   no episode); no_show_spike = share of no-shows among the tickets ended in the window (fewer than
--   min_tickets ended: no episode).
--   Each raise and each clear is told live: one pg_notify on qms_events (the realtime channel the gateway
--   fans out, ADR 0005) with an envelope {"v": 1, "type": "anomaly.raised" | "anomaly.cleared", "seq": null,
--   "ts", "tenant_id", "branch_id", "payload": {alert_id, rule_id, service_id, kind, value, raised_at,
--   cleared_at}} (qms.anomaly_alert_envelope), delivered at commit to the branch's topics: the live floor
--   of its supervisors shows it (an envelope without seq is not a ticket event: the apps' event order is
--   untouched).
-- Errors: PT403 FORBIDDEN, PT400 INVALID_MAX_ROWS (1..10000).
-- Concurrency: rules are locked `for update skip locked`, so two evaluators never judge the same rule at
--   once, and the partial unique index on open alerts forbids a second open alert of a rule.
create or replace function worker.evaluate_anomalies(max_rules integer default 1000) returns integer
    language plpgsql
    security invoker
as $$
declare
    v_rule record;
    v_alert qms.anomaly_alerts;
    v_value numeric;
    v_holds boolean;
    v_changed integer := 0;
begin
    perform qms.require_role('qms_worker');
    if evaluate_anomalies.max_rules is null or evaluate_anomalies.max_rules not between 1 and 10000 then
        perform qms.fail(400, 'INVALID_MAX_ROWS', 'max_rules must be between 1 and 10000', 'Pass e.g. 1000.');
    end if;
    for v_rule in
        select r.*, s.sla_minutes from qms.anomaly_rules r
        join qms.services s on s.tenant_id = r.tenant_id and s.service_id = r.service_id
        where r.is_active
        order by r.tenant_id, r.rule_id
        limit evaluate_anomalies.max_rules
        for update of r skip locked
    loop
        if v_rule.kind = 'waiting_over' then
            select count(*) into v_value from qms.tickets t
            where t.tenant_id = v_rule.tenant_id and t.service_id = v_rule.service_id and t.status = 'waiting';
            v_holds := v_value > v_rule.threshold;
        elsif v_rule.kind = 'p90_wait_over_sla' then
            select percentile_cont(0.9) within group (order by qms.analytics_wait_seconds(f)) into v_value
            from analytics.ticket_facts f
            where f.tenant_id = v_rule.tenant_id and f.branch_id = v_rule.branch_id
              and f.bucket_hour >= (now() - interval '2 days')::timestamp
              and f.service_id = v_rule.service_id
              and f.first_called_at >= now() - make_interval(mins => v_rule.window_minutes);
            v_holds := coalesce(v_value > v_rule.threshold * v_rule.sla_minutes * 60, false);
        else
            select case when count(*) >= v_rule.min_tickets
                        then (count(*) filter (where f.status = 'no_show'))::numeric / count(*) end
              into v_value
            from analytics.ticket_facts f
            where f.tenant_id = v_rule.tenant_id and f.branch_id = v_rule.branch_id
              and f.bucket_hour >= (now() - interval '2 days')::timestamp
              and f.service_id = v_rule.service_id
              and f.ended_at >= now() - make_interval(mins => v_rule.window_minutes);
            v_holds := coalesce(v_value > v_rule.threshold, false);
        end if;
        if v_holds then
            update qms.anomaly_alerts a set last_value = v_value
            where a.tenant_id = v_rule.tenant_id and a.rule_id = v_rule.rule_id and a.cleared_at is null;
            if not found then
                insert into qms.anomaly_alerts (tenant_id, rule_id, branch_id, service_id, kind, raised_value, last_value)
                values (v_rule.tenant_id, v_rule.rule_id, v_rule.branch_id, v_rule.service_id, v_rule.kind, v_value,
                        v_value)
                returning * into v_alert;
                perform pg_notify('qms_events', qms.anomaly_alert_envelope(v_alert, 'anomaly.raised')::text);
                v_changed := v_changed + 1;
            end if;
        else
            update qms.anomaly_alerts a set cleared_at = now(), last_value = v_value
            where a.tenant_id = v_rule.tenant_id and a.rule_id = v_rule.rule_id and a.cleared_at is null
            returning * into v_alert;
            if found then
                perform pg_notify('qms_events', qms.anomaly_alert_envelope(v_alert, 'anomaly.cleared')::text);
                v_changed := v_changed + 1;
            end if;
        end if;
    end loop;
    return v_changed;
end
$$;
comment on function worker.evaluate_anomalies(integer) is
    'Evaluate the anomaly rules; raise one alert per episode and clear it when it ends. Returns raised + cleared. '
    'PT403 FORBIDDEN, PT400 INVALID_MAX_ROWS.';
