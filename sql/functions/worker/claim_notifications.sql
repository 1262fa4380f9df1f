-- worker.claim_notifications(worker_id, max_rows, lease_seconds) -> setof jsonb: the sender's claim
-- (qms_worker; without a tenant claim it serves every tenant, with one only that tenant).
-- First the deliveries whose lease ran out (a sender died mid-send) go back to temporary_failure (or dead
-- when that was their last attempt), their open attempt closed as lease_expired. Then up to max_rows due
-- deliveries (queued or temporary_failure with next_attempt_at <= now()) are taken
-- `for update skip locked`: status sending, attempts + 1, lease_owner = worker_id, lease_expires_at =
-- now() + lease_seconds, and one qms.notification_attempts row each.
-- Transition: queued | temporary_failure -> sending; sending (lease expired) -> temporary_failure | dead.
-- Returns per claimed delivery everything the sender needs, in one round trip:
--   {delivery_id, tenant_id, ticket_id, event_type, channel, language, attempt, max_attempts,
--    idempotency_key, recipient (e-mail or phone; null when the contact is gone), unsubscribe_token,
--    push_subscriptions [{endpoint, p256dh, auth}], vars {ticket_number, branch_name, service_name,
--    counter_name, position, eta_minutes, status_url (ticket.created)}, template {template_id, version, subject, body_text, body_html}
--    (the tenant's active version, else the shipped default), provider {kind, config, secret} or null,
--    fallback_provider (whatsapp only: the provider of the channel named by its config's "fallback"),
--    fallback_recipient (whatsapp only: the contact's address on that channel, e-mail or phone)}.
-- Errors: PT403 FORBIDDEN (not qms_worker), PT400 INVALID_MAX_ROWS (1..1000), PT400 INVALID_LEASE (5..3600 s).
-- Exactly once under concurrency: skip locked makes two senders take disjoint rows; a lease that runs out
-- is the only way a delivery is taken again. Locking: the claimed rows, until commit (the caller commits
-- before sending).
create or replace function worker.claim_notifications(worker_id text, max_rows integer default 20,
                                                      lease_seconds integer default 60)
    returns setof jsonb
    language plpgsql
    security invoker
as $$
begin
    perform qms.require_role('qms_worker');
    perform qms.require_max_rows(claim_notifications.max_rows, 1000, 20);
    if claim_notifications.lease_seconds is null or claim_notifications.lease_seconds not between 5 and 3600 then
        perform qms.fail(400, 'INVALID_LEASE', 'lease_seconds must be between 5 and 3600',
                         'Pass a lease longer than the slowest send, e.g. 60.');
    end if;
    with expired as (
        select d.tenant_id, d.delivery_id, d.attempts, d.lease_owner
        from qms.notification_deliveries d
        where d.status = 'sending' and d.lease_expires_at < now()
        limit claim_notifications.max_rows
        for update skip locked
    ), reset as (
        update qms.notification_deliveries d
           set status = case when d.attempts >= d.max_attempts then 'dead' else 'temporary_failure' end::qms.delivery_status,
               next_attempt_at = now(), lease_owner = null, lease_expires_at = null, updated_at = now(),
               last_error = format('lease of %s expired mid-send', e.lease_owner)
          from expired e
         where d.tenant_id = e.tenant_id and d.delivery_id = e.delivery_id
        returning d.tenant_id, d.delivery_id, d.attempts
    )
    update qms.notification_attempts a
       set outcome = 'lease_expired', finished_at = clock_timestamp(), error = 'lease expired'
      from reset r
     where a.tenant_id = r.tenant_id and a.delivery_id = r.delivery_id and a.attempt = r.attempts
       and a.outcome is null;

    return query
    with due as (
        select d.tenant_id, d.delivery_id
        from qms.notification_deliveries d
        where d.status in ('queued', 'temporary_failure') and d.next_attempt_at <= now()
        order by d.next_attempt_at
        limit claim_notifications.max_rows
        for update skip locked
    ), claimed as (
        update qms.notification_deliveries d
           set status = 'sending', attempts = d.attempts + 1, lease_owner = claim_notifications.worker_id,
               lease_expires_at = now() + make_interval(secs => claim_notifications.lease_seconds),
               updated_at = now()
          from due
         where d.tenant_id = due.tenant_id and d.delivery_id = due.delivery_id
        returning d.*
    ), logged as (
        insert into qms.notification_attempts (tenant_id, delivery_id, attempt, worker)
        select c.tenant_id, c.delivery_id, c.attempts, claim_notifications.worker_id from claimed c
    )
    select jsonb_build_object(
        'delivery_id', c.delivery_id, 'tenant_id', c.tenant_id, 'ticket_id', c.ticket_id,
        'event_type', c.event_type, 'channel', c.channel, 'language', c.language, 'attempt', c.attempts,
        'max_attempts', c.max_attempts, 'idempotency_key', c.idempotency_key,
        'recipient', case c.channel when 'email' then tc.email when 'push' then null else tc.phone end,
        'unsubscribe_token', tc.unsubscribe_token,
        'push_subscriptions', case when c.channel = 'push' then
            (select coalesce(jsonb_agg(jsonb_build_object('endpoint', p.endpoint, 'p256dh', p.p256dh, 'auth', p.auth)), '[]')
             from qms.push_subscriptions p where p.tenant_id = c.tenant_id and p.ticket_id = c.ticket_id) end,
        'vars', jsonb_strip_nulls(jsonb_build_object(
            'ticket_number', t.ticket_number, 'branch_name', b.name, 'service_name', s.name,
            'counter_name', k.name, 'position', c.vars -> 'position', 'eta_minutes', c.vars -> 'eta_minutes',
            'status_url', c.vars -> 'status_url')),
        'template', coalesce(
            (select jsonb_build_object('template_id', tpl.template_id, 'version', tpl.version, 'subject', tpl.subject,
                                       'body_text', tpl.body_text, 'body_html', tpl.body_html)
             from qms.notification_templates tpl
             where tpl.tenant_id = c.tenant_id and tpl.event_type = c.event_type and tpl.channel = c.channel
               and tpl.language = c.language and tpl.is_active),
            qms.default_notification_template(c.event_type, c.channel, c.language)),
        'provider', (select jsonb_build_object('kind', pr.kind, 'config', pr.config, 'secret', pr.secret)
                     from qms.notification_providers pr
                     where pr.tenant_id = c.tenant_id and pr.channel = c.channel),
        'fallback_provider', case when c.channel = 'whatsapp' then
            (select jsonb_build_object('kind', f.kind, 'config', f.config, 'secret', f.secret, 'channel', f.channel)
             from qms.notification_providers w
             join qms.notification_providers f on f.tenant_id = w.tenant_id and f.channel = w.config ->> 'fallback'
             where w.tenant_id = c.tenant_id and w.channel = 'whatsapp') end,
        'fallback_recipient', case when c.channel = 'whatsapp' then
            (select case w.config ->> 'fallback' when 'email' then tc.email else tc.phone end
             from qms.notification_providers w
             where w.tenant_id = c.tenant_id and w.channel = 'whatsapp') end)
    from claimed c
    join qms.tickets t on t.tenant_id = c.tenant_id and t.ticket_id = c.ticket_id
    join qms.branches b on b.tenant_id = t.tenant_id and b.branch_id = t.branch_id
    join qms.services s on s.tenant_id = t.tenant_id and s.service_id = t.service_id
    left join qms.counters k
           on k.tenant_id = c.tenant_id and k.counter_id = coalesce((c.vars ->> 'counter_id')::uuid, t.counter_id)
    left join qms.ticket_contacts tc on tc.tenant_id = c.tenant_id and tc.ticket_id = c.ticket_id;
end
$$;
comment on function worker.claim_notifications(text, integer, integer) is
    'Sender claim (qms_worker): recover expired leases, then lease up to max_rows due deliveries with '
    'everything needed to render and send them. PT400 INVALID_MAX_ROWS/INVALID_LEASE, PT403 FORBIDDEN.';
