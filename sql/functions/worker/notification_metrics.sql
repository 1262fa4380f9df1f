-- worker.notification_metrics() -> jsonb: the outbox at a glance, for the gateway's /metrics (sampled on
-- scrape, as qms_worker): {deliveries: [{status, channel, count}] of the unfinished and dead deliveries,
-- oldest_queued_seconds (the longest a due delivery has waited; 0 when none), attempts_5m: [{outcome,
-- count}] of the attempts finished in the last five minutes}. All tenants, counts only (no tenant ids,
-- no contact data). Errors: PT403 FORBIDDEN (not qms_worker). Read-only, no locks.
create or replace function worker.notification_metrics() returns jsonb
    language plpgsql
    stable
    security invoker
as $$
begin
    perform qms.require_role('qms_worker');
    return jsonb_build_object(
        'deliveries', (select coalesce(jsonb_agg(jsonb_build_object('status', x.status, 'channel', x.channel,
                                                                    'count', x.n)), '[]')
                       from (select d.status, d.channel, count(*) as n from qms.notification_deliveries d
                             where d.status in ('queued', 'sending', 'temporary_failure', 'dead')
                             group by d.status, d.channel) x),
        'oldest_queued_seconds', (select coalesce(extract(epoch from now() - min(d.next_attempt_at)), 0)
                                  from qms.notification_deliveries d
                                  where d.status in ('queued', 'temporary_failure') and d.next_attempt_at <= now()),
        'attempts_5m', (select coalesce(jsonb_agg(jsonb_build_object('outcome', x.outcome, 'count', x.n)), '[]')
                        from (select a.outcome, count(*) as n from qms.notification_attempts a
                              where a.finished_at > now() - interval '5 minutes' group by a.outcome) x));
end
$$;
comment on function worker.notification_metrics() is
    'Outbox counts for /metrics (qms_worker): unfinished and dead deliveries by status and channel, oldest due '
    'age, attempts of the last 5 minutes by outcome. PT403 FORBIDDEN.';
