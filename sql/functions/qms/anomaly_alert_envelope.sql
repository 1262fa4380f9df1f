-- qms.anomaly_alert_envelope(alert, type): the realtime batch {"events": [envelope]} of one alert change.
--   Immutable apart from the time stamp (stable), no errors.
create or replace function qms.anomaly_alert_envelope(p_alert qms.anomaly_alerts, p_type text) returns jsonb
    language sql stable
as $$
    select jsonb_build_object('events', jsonb_build_array(jsonb_build_object(
        'v', 1, 'type', p_type, 'seq', null, 'ts', now(), 'tenant_id', p_alert.tenant_id,
        'branch_id', p_alert.branch_id,
        'payload', jsonb_build_object('alert_id', p_alert.alert_id, 'rule_id', p_alert.rule_id,
                                      'service_id', p_alert.service_id, 'kind', p_alert.kind,
                                      'value', coalesce(p_alert.last_value, p_alert.raised_value),
                                      'raised_at', p_alert.raised_at, 'cleared_at', p_alert.cleared_at))))
$$;
comment on function qms.anomaly_alert_envelope(qms.anomaly_alerts, text) is
    'The realtime batch ({"events": [envelope]}) telling one anomaly alert raised or cleared.';
