-- worker.purge_notification_data(max_rows, keep_history) -> integer: retention of notification data
-- (qms_worker; all tenants without a tenant claim). Deletes, at most max_rows of each kind per call:
--   * ticket contacts (phone, e-mail: the PII) of tickets that ended more than the tenant's
--     pii_policy.retention_days ago (0: as soon as the ticket ends) and have no delivery still to send (a
--     no-show or cancel notice goes out first); a contact purged otherwise (by hand) leaves its queued
--     deliveries without an address: they fail permanently, nothing is sent to a purged contact;
--   * Web Push subscriptions of tickets that have ended and have no delivery still to send (the browser's
--     endpoint is of no use once the ticket is over; docs/adr/0017-public-push-subscriptions.md);
--   * the local mail sink's messages older than that retention;
--   * finished deliveries (sent, delivered, permanent_failure, dead; their attempts go with them) and skip
--     records older than keep_history (default 30 days): no contact data, kept for the admin's view.
-- Returns the number of rows deleted (call again while it returns more than zero).
-- Errors: PT403 FORBIDDEN (not qms_worker), PT400 INVALID_MAX_ROWS (1..100000), PT400 INVALID_INTERVAL.
-- Idempotent by nature. Locking: the deleted rows (contacts and deliveries skip locked rows, so a purge
-- never waits on a sender).
create or replace function worker.purge_notification_data(max_rows integer default 5000,
                                                          keep_history interval default '30 days')
    returns integer
    language plpgsql
    security invoker
as $$
declare
    v_total integer := 0;
    v_count integer;
begin
    perform qms.require_role('qms_worker');
    perform qms.require_max_rows(purge_notification_data.max_rows, 100000, 5000);
    if purge_notification_data.keep_history is null or purge_notification_data.keep_history < interval '0' then
        perform qms.fail(400, 'INVALID_INTERVAL', 'keep_history must be a positive interval', 'Pass e.g. ''30 days''.');
    end if;
    delete from qms.ticket_contacts c
    where (c.tenant_id, c.ticket_id) in (
        select c2.tenant_id, c2.ticket_id
        from qms.ticket_contacts c2
        join qms.tickets t on t.tenant_id = c2.tenant_id and t.ticket_id = c2.ticket_id
        join qms.tenants tn on tn.tenant_id = c2.tenant_id
        where coalesce(t.ended_at, t.completed_at)
              < now() - make_interval(days => coalesce((tn.pii_policy ->> 'retention_days')::integer, 0))
          and not exists (select 1 from qms.notification_deliveries d
                          where d.tenant_id = c2.tenant_id and d.ticket_id = c2.ticket_id
                            and d.status in ('queued', 'sending', 'temporary_failure'))
        limit purge_notification_data.max_rows
        for update of c2 skip locked);
    get diagnostics v_count = row_count;
    v_total := v_total + v_count;
    delete from qms.push_subscriptions p
    where (p.tenant_id, p.ticket_id, p.endpoint) in (
        select p2.tenant_id, p2.ticket_id, p2.endpoint
        from qms.push_subscriptions p2
        join qms.tickets t on t.tenant_id = p2.tenant_id and t.ticket_id = p2.ticket_id
        where t.status in ('done', 'no_show', 'cancelled')
          and not exists (select 1 from qms.notification_deliveries d
                          where d.tenant_id = p2.tenant_id and d.ticket_id = p2.ticket_id
                            and d.status in ('queued', 'sending', 'temporary_failure'))
        limit purge_notification_data.max_rows);
    get diagnostics v_count = row_count;
    v_total := v_total + v_count;
    delete from qms.mail_sink_messages m
    where (m.tenant_id, m.message_id) in (
        select m2.tenant_id, m2.message_id
        from qms.mail_sink_messages m2 join qms.tenants tn on tn.tenant_id = m2.tenant_id
        where m2.received_at < now() - make_interval(days => coalesce((tn.pii_policy ->> 'retention_days')::integer, 0))
        limit purge_notification_data.max_rows);
    get diagnostics v_count = row_count;
    v_total := v_total + v_count;
    delete from qms.notification_deliveries d
    where (d.tenant_id, d.delivery_id) in (
        select d2.tenant_id, d2.delivery_id from qms.notification_deliveries d2
        where d2.status in ('sent', 'delivered', 'permanent_failure', 'dead')
          and d2.updated_at < now() - purge_notification_data.keep_history
        limit purge_notification_data.max_rows
        for update skip locked);
    get diagnostics v_count = row_count;
    v_total := v_total + v_count;
    delete from qms.notification_skips s
    where (s.tenant_id, s.skip_id) in (
        select s2.tenant_id, s2.skip_id from qms.notification_skips s2
        where s2.created_at < now() - purge_notification_data.keep_history
        limit purge_notification_data.max_rows);
    get diagnostics v_count = row_count;
    return v_total + v_count;
end
$$;
comment on function worker.purge_notification_data(integer, interval) is
    'Retention (qms_worker): contacts of tickets ended longer ago than the tenant''s retention_days, push '
    'subscriptions of ended tickets, old sink '
    'messages, finished deliveries and skips older than keep_history. PT400 INVALID_MAX_ROWS/INVALID_INTERVAL.';
