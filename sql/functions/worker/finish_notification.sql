-- worker.finish_notification(...) -> text: the sender records how one attempt ended (qms_worker).
-- Guarded by the lease: only the lease owner of a delivery in `sending` may finish it.
-- Transition (outcome):
--   sent              sending -> sent (sent_at, provider_message_id)
--   temporary_failure sending -> temporary_failure, next_attempt_at = now() + backoff, where backoff is
--                     min(retry_base_seconds * 2^(attempts-1), 3600) s times a jitter in [0.5, 1); or
--                     sending -> dead when that was the last attempt (attempts >= max_attempts)
--   permanent_failure sending -> dead (the provider refused for good: retrying cannot help)
-- Every outcome also closes the attempt row (outcome, error, provider_message_id, finished_at) and stores
-- the template version used and the provider kind. Returns the new status.
-- Errors: PT403 FORBIDDEN (not qms_worker), PT400 INVALID_OUTCOME, PT409 LEASE_LOST (the delivery is not
-- `sending` under this worker's lease any more: the lease ran out and another sender took it).
-- Idempotency: a second call for the same attempt raises LEASE_LOST (the first one ended the lease).
-- Locking: the delivery row.
create or replace function worker.finish_notification(
    tenant_id uuid,
    delivery_id uuid,
    worker_id text,
    outcome text,
    error text default null,
    provider_message_id text default null,
    provider text default null,
    template_id uuid default null,
    template_version integer default null,
    retry_base_seconds double precision default 5
) returns text
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_row qms.notification_deliveries;
begin
    perform qms.require_role('qms_worker');
    if finish_notification.outcome is null
       or finish_notification.outcome not in ('sent', 'temporary_failure', 'permanent_failure') then
        perform qms.fail(400, 'INVALID_OUTCOME', format('unknown outcome %s', finish_notification.outcome),
                         'Use sent, temporary_failure or permanent_failure.');
    end if;
    update qms.notification_deliveries d
       set status = case
               when finish_notification.outcome = 'sent' then 'sent'
               when finish_notification.outcome = 'temporary_failure' and d.attempts < d.max_attempts
                   then 'temporary_failure'
               else 'dead' end::qms.delivery_status,
           next_attempt_at = case when finish_notification.outcome = 'temporary_failure' then
               now() + make_interval(secs => least(finish_notification.retry_base_seconds * 2 ^ (d.attempts - 1), 3600)
                                             * (0.5 + random() / 2))
               else d.next_attempt_at end,
           sent_at = case when finish_notification.outcome = 'sent' then now() else d.sent_at end,
           last_error = case when finish_notification.outcome = 'sent' then d.last_error
                             else left(finish_notification.error, 2000) end,
           provider_message_id = coalesce(finish_notification.provider_message_id, d.provider_message_id),
           provider = coalesce(finish_notification.provider, d.provider),
           template_id = finish_notification.template_id,
           template_version = coalesce(finish_notification.template_version, d.template_version),
           lease_owner = null, lease_expires_at = null, updated_at = now()
     where d.tenant_id = finish_notification.tenant_id and d.delivery_id = finish_notification.delivery_id
       and d.status = 'sending' and d.lease_owner = finish_notification.worker_id
    returning d.* into v_row;
    if not found then
        perform qms.fail(409, 'LEASE_LOST', 'this worker no longer holds the delivery''s lease',
                         'The lease ran out and another sender took the delivery; make leases longer than sends.');
    end if;
    update qms.notification_attempts a
       set outcome = finish_notification.outcome, error = left(finish_notification.error, 2000),
           provider_message_id = finish_notification.provider_message_id, finished_at = clock_timestamp()
     where a.tenant_id = v_row.tenant_id and a.delivery_id = v_row.delivery_id and a.attempt = v_row.attempts;
    return v_row.status::text;
end
$$;
comment on function worker.finish_notification(uuid, uuid, text, text, text, text, text, uuid, integer, double precision) is
    'Sender (qms_worker): record an attempt''s outcome under the lease: sent, retry with backoff and jitter, '
    'or dead. PT400 INVALID_OUTCOME, PT403 FORBIDDEN, PT409 LEASE_LOST.';
