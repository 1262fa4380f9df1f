-- The notification outbox as the tenant's admins see it (docs/adr/0012-notification-outbox.md).
-- Contact data is masked (qms.mask_contact); provider secrets never appear.
--
-- api.list_notification_deliveries(status, ticket_id, max_rows, channel, from_ts, to_ts) -> jsonb array,
--   newest first: {delivery_id, ticket_id, ticket_number, event_type, channel, status, attempts, max_attempts,
--    next_attempt_at, last_error, provider, provider_message_id, template_version, recipient (masked),
--    created_at, sent_at, delivered_at}. Admins and supervisors. status 'dead' lists the dead letters;
--   channel, and created_at in [from_ts, to_ts), narrow the list (null: no filter).
--   Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_DELIVERY_STATUS, PT400 INVALID_MAX_ROWS,
--   PT400 INVALID_CHANNEL (not email, sms, whatsapp or push), PT400 INVALID_RANGE (from_ts after to_ts).
-- api.list_notification_attempts(delivery_id) -> jsonb array of the delivery's attempts, in order.
--   Admins and supervisors. Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT404 DELIVERY_NOT_FOUND.
-- api.list_notification_skips(max_rows) -> jsonb array, newest first: {ticket_id, event_type, reason,
--   created_at}: events that made no delivery, and why. Admins and supervisors.
--   Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_MAX_ROWS.
-- api.redrive_notification(delivery_id) -> the delivery (as listed): admin re-drives a dead letter.
--   Transition: dead -> queued, due now, with the tenant's max_attempts more attempts (attempt numbers go
--   on: the attempt log keeps the earlier ones); the last error is kept until the next attempt.
--   Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT404 DELIVERY_NOT_FOUND, PT409 DELIVERY_NOT_DEAD.
--   Audited (notification.redrive). Locking: the delivery row.

create or replace function qms.mask_contact(p_address text) returns text
    language sql immutable parallel safe
as $$
    -- "ana@example.com" -> "a**@e******.com"; "+62 812 3456 789" -> "+6*********89"
    select case
        when p_address is null then null
        when position('@' in p_address) > 0 then
            left(split_part(p_address, '@', 1), 1) || repeat('*', greatest(length(split_part(p_address, '@', 1)) - 1, 1))
            || '@' || left(split_part(p_address, '@', 2), 1)
            || repeat('*', greatest(length(regexp_replace(split_part(p_address, '@', 2), '\.[^.]*$', '')) - 1, 1))
            || coalesce(substring(split_part(p_address, '@', 2) from '\.[^.]*$'), '')
        else left(p_address, 2) || repeat('*', greatest(length(p_address) - 4, 1)) || right(p_address, 2)
    end
$$;
comment on function qms.mask_contact(text) is 'Mask an e-mail or phone for logs and views (first and last characters).';

create or replace function qms.delivery_json(p_row qms.notification_deliveries) returns jsonb
    language sql stable
as $$
    select jsonb_build_object(
        'delivery_id', p_row.delivery_id, 'ticket_id', p_row.ticket_id,
        'ticket_number', (select t.ticket_number from qms.tickets t
                          where t.tenant_id = p_row.tenant_id and t.ticket_id = p_row.ticket_id),
        'event_type', p_row.event_type, 'channel', p_row.channel, 'status', p_row.status,
        'attempts', p_row.attempts, 'max_attempts', p_row.max_attempts, 'next_attempt_at', p_row.next_attempt_at,
        'last_error', p_row.last_error, 'provider', p_row.provider, 'provider_message_id', p_row.provider_message_id,
        'template_version', p_row.template_version, 'recipient', qms.masked_recipient(p_row),
        'created_at', p_row.created_at, 'sent_at', p_row.sent_at, 'delivered_at', p_row.delivered_at)
$$;
comment on function qms.delivery_json(qms.notification_deliveries) is 'A delivery as the admin api returns it.';

-- qms.masked_recipient: the masked address of a delivery. Security definer: staff never read contacts,
-- only this masked form. No errors.
create or replace function qms.masked_recipient(p_row qms.notification_deliveries) returns text
    language sql stable
    security definer
    set search_path = ''
as $$
    select qms.mask_contact(case p_row.channel when 'email' then c.email when 'push' then null else c.phone end)
    from qms.ticket_contacts c
    where c.tenant_id = p_row.tenant_id and c.ticket_id = p_row.ticket_id
      and c.tenant_id = qms.current_tenant_id()
$$;
comment on function qms.masked_recipient(qms.notification_deliveries) is
    'Masked recipient of a delivery of the caller''s tenant (null for push or a purged contact).';

create or replace function api.list_notification_deliveries(status text default null, ticket_id uuid default null,
                                                            max_rows integer default 100, channel text default null,
                                                            from_ts timestamptz default null,
                                                            to_ts timestamptz default null)
    returns jsonb
    language plpgsql
    stable
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_admin', 'qms_supervisor');
    v_tenant := qms.require_tenant();
    if list_notification_deliveries.status is not null
       and not list_notification_deliveries.status = any (enum_range(null::qms.delivery_status)::text[]) then
        perform qms.fail(400, 'INVALID_DELIVERY_STATUS', format('unknown delivery status %s', list_notification_deliveries.status),
                         'Use queued, sending, temporary_failure, sent, delivered, permanent_failure or dead.');
    end if;
    if list_notification_deliveries.channel not in ('email', 'sms', 'whatsapp', 'push') then
        perform qms.fail(400, 'INVALID_CHANNEL', format('unknown channel %s', list_notification_deliveries.channel),
                         'Use email, sms, whatsapp or push.');
    end if;
    if list_notification_deliveries.from_ts > list_notification_deliveries.to_ts then
        perform qms.fail(400, 'INVALID_RANGE', 'from_ts is after to_ts', 'Swap the dates.');
    end if;
    perform qms.require_max_rows(list_notification_deliveries.max_rows, 1000, 100);
    return (select coalesce(jsonb_agg(qms.delivery_json(d) order by d.created_at desc), '[]')
            from (select d.* from qms.notification_deliveries d
                  where d.tenant_id = v_tenant
                    and (list_notification_deliveries.status is null
                         or d.status = list_notification_deliveries.status::qms.delivery_status)
                    and (list_notification_deliveries.ticket_id is null
                         or d.ticket_id = list_notification_deliveries.ticket_id)
                    and (list_notification_deliveries.channel is null
                         or d.channel = list_notification_deliveries.channel)
                    and (list_notification_deliveries.from_ts is null
                         or d.created_at >= list_notification_deliveries.from_ts)
                    and (list_notification_deliveries.to_ts is null
                         or d.created_at < list_notification_deliveries.to_ts)
                  order by d.created_at desc
                  limit list_notification_deliveries.max_rows) d);
end
$$;
comment on function api.list_notification_deliveries(text, uuid, integer, text, timestamptz, timestamptz) is
    'The tenant''s deliveries, newest first, recipient masked (admin, supervisor); status => ''dead'' lists '
    'dead letters; filters by channel and created_at range. PT400 INVALID_DELIVERY_STATUS/INVALID_MAX_ROWS/'
    'INVALID_CHANNEL/INVALID_RANGE.';

create or replace function api.list_notification_attempts(delivery_id uuid) returns jsonb
    language plpgsql
    stable
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_admin', 'qms_supervisor');
    v_tenant := qms.require_tenant();
    if not exists (select 1 from qms.notification_deliveries d
                   where d.tenant_id = v_tenant and d.delivery_id = list_notification_attempts.delivery_id) then
        perform qms.fail(404, 'DELIVERY_NOT_FOUND', 'delivery not found', 'List deliveries to find its id.');
    end if;
    return (select coalesce(jsonb_agg(jsonb_build_object(
                       'attempt', a.attempt, 'worker', a.worker, 'started_at', a.started_at,
                       'finished_at', a.finished_at, 'outcome', a.outcome, 'error', a.error,
                       'provider_message_id', a.provider_message_id) order by a.attempt), '[]')
            from qms.notification_attempts a
            where a.tenant_id = v_tenant and a.delivery_id = list_notification_attempts.delivery_id);
end
$$;
comment on function api.list_notification_attempts(uuid) is
    'Every attempt of one delivery (admin, supervisor). PT404 DELIVERY_NOT_FOUND.';

create or replace function api.list_notification_skips(max_rows integer default 100) returns jsonb
    language plpgsql
    stable
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_admin', 'qms_supervisor');
    v_tenant := qms.require_tenant();
    perform qms.require_max_rows(list_notification_skips.max_rows, 1000, 100);
    return (select coalesce(jsonb_agg(jsonb_build_object('ticket_id', s.ticket_id, 'event_type', s.event_type,
                                                         'reason', s.reason, 'created_at', s.created_at)
                                      order by s.skip_id desc), '[]')
            from (select * from qms.notification_skips s where s.tenant_id = v_tenant
                  order by s.skip_id desc limit list_notification_skips.max_rows) s);
end
$$;
comment on function api.list_notification_skips(integer) is
    'Events that made no delivery and why (admin, supervisor), newest first. PT400 INVALID_MAX_ROWS.';

create or replace function api.redrive_notification(delivery_id uuid) returns jsonb
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
    v_before qms.notification_deliveries;
    v_after qms.notification_deliveries;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    select * into v_before from qms.notification_deliveries d
    where d.tenant_id = v_tenant and d.delivery_id = redrive_notification.delivery_id
    for update;
    if not found then
        perform qms.fail(404, 'DELIVERY_NOT_FOUND', 'delivery not found', 'List deliveries to find its id.');
    end if;
    if v_before.status <> 'dead' then
        perform qms.fail(409, 'DELIVERY_NOT_DEAD', format('the delivery is %s, not dead', v_before.status),
                         'Only dead letters are re-driven; others are still being retried or are done.');
    end if;
    update qms.notification_deliveries d
       set status = 'queued', next_attempt_at = now(), updated_at = now(),
           max_attempts = d.attempts + coalesce((select s.max_attempts from qms.notification_settings s
                                                 where s.tenant_id = v_tenant), 5)
     where d.tenant_id = v_tenant and d.delivery_id = v_before.delivery_id
    returning * into v_after;
    perform qms.audit_write('notification.redrive', 'notification_delivery', v_after.delivery_id::text,
                            jsonb_build_object('status', v_before.status, 'max_attempts', v_before.max_attempts),
                            jsonb_build_object('status', v_after.status, 'max_attempts', v_after.max_attempts));
    perform pg_notify('qms_notifications', '');
    return qms.delivery_json(v_after);
end
$$;
comment on function api.redrive_notification(uuid) is
    'Re-drive a dead letter (admin): dead -> queued with fresh attempts. PT404 DELIVERY_NOT_FOUND, PT409 DELIVERY_NOT_DEAD.';
