-- What providers and customers report back, recorded by the sender worker or the gateway webhook (as
-- qms_worker; never reachable through the public api).
--
-- worker.record_delivery_report(provider_message_id, status, error) -> integer: a provider's delivery
--   callback. Transition: sent -> delivered | permanent_failure (also delivered -> permanent_failure is
--   refused: a delivered message stays delivered). Returns the number of deliveries changed (0 for an
--   unknown or already final message id: callbacks are retried by providers, so a repeat is a no-op).
--   Errors: PT403 FORBIDDEN, PT400 INVALID_REPORT_STATUS. Locking: the matched delivery rows.
-- worker.suppress_address(tenant_id, channel, address, reason) -> boolean: STOP keyword or hard bounce:
--   the address is suppressed for the tenant's channel (its hash is stored) and every contact of the
--   tenant with that address is opted out. Idempotent (true when newly suppressed).
--   Errors: PT403 FORBIDDEN, PT400 INVALID_CHANNEL.
-- worker.remove_push_subscription(tenant_id, ticket_id, endpoint) -> boolean: the push service answered
--   404/410 (or Apple's 403): the subscription is gone. Idempotent. Errors: PT403 FORBIDDEN.
create or replace function worker.record_delivery_report(provider_message_id text, status text,
                                                         error text default null)
    returns integer
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_count integer;
begin
    perform qms.require_role('qms_worker');
    if record_delivery_report.status is null
       or record_delivery_report.status not in ('delivered', 'permanent_failure') then
        perform qms.fail(400, 'INVALID_REPORT_STATUS', format('unknown report status %s', record_delivery_report.status),
                         'Use delivered or permanent_failure.');
    end if;
    update qms.notification_deliveries d
       set status = record_delivery_report.status::qms.delivery_status,
           delivered_at = case when record_delivery_report.status = 'delivered' then now() end,
           last_error = coalesce(left(record_delivery_report.error, 2000), d.last_error), updated_at = now()
     where d.provider_message_id = record_delivery_report.provider_message_id and d.status = 'sent';
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function worker.record_delivery_report(text, text, text) is
    'Provider callback (qms_worker): sent -> delivered | permanent_failure by provider message id; repeats are '
    'no-ops. PT400 INVALID_REPORT_STATUS, PT403 FORBIDDEN.';

create or replace function worker.suppress_address(tenant_id uuid, channel text, address text, reason text)
    returns boolean
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_hash bytea := qms.contact_address_hash(suppress_address.address);
    v_new boolean;
begin
    perform qms.require_role('qms_worker');
    if suppress_address.channel is null or suppress_address.channel not in ('email', 'sms', 'whatsapp', 'push') then
        perform qms.fail(400, 'INVALID_CHANNEL', format('unknown channel %s', suppress_address.channel),
                         'Use email, sms, whatsapp or push.');
    end if;
    insert into qms.notification_suppressions (tenant_id, channel, address_hash, reason)
    values (suppress_address.tenant_id, suppress_address.channel, v_hash, suppress_address.reason)
    on conflict do nothing;
    v_new := found;
    update qms.ticket_contacts c set notify = false
     where c.tenant_id = suppress_address.tenant_id and c.notify
       and qms.contact_address_hash(case when suppress_address.channel = 'email' then c.email else c.phone end) = v_hash;
    return v_new;
end
$$;
comment on function worker.suppress_address(uuid, text, text, text) is
    'STOP / hard bounce (qms_worker): suppress an address for a tenant''s channel and opt its contacts out. '
    'PT400 INVALID_CHANNEL, PT403 FORBIDDEN.';

create or replace function worker.remove_push_subscription(tenant_id uuid, ticket_id uuid, endpoint text)
    returns boolean
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
begin
    perform qms.require_role('qms_worker');
    delete from qms.push_subscriptions p
     where p.tenant_id = remove_push_subscription.tenant_id and p.ticket_id = remove_push_subscription.ticket_id
       and p.endpoint = remove_push_subscription.endpoint;
    return found;
end
$$;
comment on function worker.remove_push_subscription(uuid, uuid, text) is
    'Push service said the subscription is gone (404/410, Apple 403) (qms_worker): delete it. PT403 FORBIDDEN.';
