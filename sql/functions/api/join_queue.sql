-- The customer joins a queue from the web (spec §11.5), with the branch's join code
-- `<tenant slug>.<branch code>` from its link or QR (/apps/public/#b=<code>). No account: qms_anon.
--
-- api.get_public_branch(code) -> {code, branch_name, timezone, is_open, tenant_name, branding,
--   contacts_allowed, services: [{service_id, name, prefix, is_open, waiting_count,
--   estimated_wait_seconds}]}. Errors: PT404 BRANCH_NOT_FOUND. Stable, no locks.
-- api.join_queue(code, service_id, contact, request_id) -> the ticket as api.create_ticket answers it
--   (channel web), with position, estimated_wait_seconds and status_url. Errors: PT404 BRANCH_NOT_FOUND,
--   PT404 SERVICE_NOT_FOUND, PT400 CONTACT_NOT_ALLOWED, PT409 BRANCH_CLOSED / SERVICE_CLOSED, PT400
--   CONSENT_REQUIRED / INVALID_CONTACT, PT409 IDEMPOTENCY_KEY_REUSED. Idempotency: request_id as in
--   api.create_ticket. Locking: the service's number counter, until commit.
create or replace function api.get_public_branch(code text) returns jsonb
    language sql stable
    security invoker
as $$
    select qms.public_branch_view(get_public_branch.code)
$$;
comment on function api.get_public_branch(text) is
    'The join page of a branch by its join code: services, open now, waiting, estimated wait. PT404 BRANCH_NOT_FOUND.';

create or replace function api.join_queue(code text, service_id uuid, contact jsonb default null,
                                          request_id uuid default null)
    returns jsonb
    language sql
    security invoker
as $$
    select qms.public_join(join_queue.code, join_queue.service_id, join_queue.contact, join_queue.request_id)
$$;
comment on function api.join_queue(text, uuid, jsonb, uuid) is
    'Join a queue from the web with a branch''s join code; returns the ticket with status_url. '
    'PT404 BRANCH_NOT_FOUND/SERVICE_NOT_FOUND, PT400 CONTACT_NOT_ALLOWED, PT409 BRANCH_CLOSED/SERVICE_CLOSED.';
