-- api.create_ticket: issue a ticket for a service (kiosk, web, mobile, staff desk, API).
-- Transition: — -> waiting. Event ticket.created carrying every initial field.
-- Number: per service per business day (branch timezone) from qms.ticket_number_counters
--   (insert ... on conflict do update, so the counter row is locked until commit: gap-free numbers, one
--   issue per service per commit), formatted by the effective policy's number_format ({prefix}-{n:03} -> A-007).
-- Contact {phone, email, language, consent}: stored only in qms.ticket_contacts, never in events, only
--   with consent = true, and only when the tenant keeps contact data (pii_policy.contacts, read by
--   qms.tenant_keeps_contacts; api.join_queue issues through here, so this is the one place of the rule).
--   A JSON null contact is no contact.
-- Offline kiosks: offline_number (channel kiosk only, PREFIX-NNN) is the number the kiosk printed while the
--   server was unreachable; the synced ticket keeps it as its ticket_number, so the printed number is the
--   one the agent and the board show. number_seq still draws from the service's counter (gap-free).
-- Errors: PT400 INVALID_OFFLINE_NUMBER, PT400 INVALID_CHANNEL, PT400 INVALID_PRIORITY_CLASS,
--   PT400 CONSENT_REQUIRED, PT400 INVALID_CONTACT, PT400 CONTACT_NOT_ALLOWED,
--   PT404 SERVICE_NOT_FOUND (unknown, inactive, other tenant or outside the caller's branches: a device
--   issues only in its branch), PT409 BRANCH_CLOSED / SERVICE_CLOSED (opening hours, inactive branch),
--   PT409 IDEMPOTENCY_KEY_REUSED, PT401 TENANT_REQUIRED.
-- Queue position key: queued_at = created_at = clock_timestamp() (arrival order, distinct even for
--   tickets issued in one transaction).
-- Idempotency: request_id replays the stored ticket (position as it was at issue), no new event.
-- Writes: the number counter, the ticket and its ticket.created event (qms.advance_ticket), the contact if any.
-- Answer: the ticket with position, estimated_wait_seconds and status_url, the relative path of the
--   customer's public status page carrying the ticket's secret (returned here only; stored hashed; an
--   idempotent replay returns the same answer while the request_id is kept).
-- Locking: the service's number-counter row for the day, until commit.
create or replace function api.create_ticket(
    service_id uuid,
    channel text default 'staff',
    priority_class text default 'regular',
    request_id uuid default null,
    contact jsonb default null,
    offline_number text default null
) returns jsonb
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_replay jsonb;
    v_tenant uuid;
    v_service record;
    v_now timestamptz;
    v_new qms.tickets;
    v_ticket qms.tickets;
    v_secret text;
    v_number_format text;
    v_estimate jsonb;
begin
    perform qms.validate_ticket_request(create_ticket.channel, create_ticket.priority_class, create_ticket.contact);
    if create_ticket.offline_number is not null
       and (create_ticket.channel <> 'kiosk' or create_ticket.offline_number !~ '^[A-Z0-9]{1,4}-[0-9]{1,4}$') then
        perform qms.fail(400, 'INVALID_OFFLINE_NUMBER', 'offline_number is a kiosk''s own number, like L-007',
                         'Send it only from a kiosk (channel kiosk), as PREFIX-NNN.');
    end if;
    v_tenant := qms.require_tenant();
    v_replay := qms.idempotency_begin(create_ticket.request_id, 'create_ticket', jsonb_build_object(
        'service_id', create_ticket.service_id, 'channel', create_ticket.channel,
        'priority_class', create_ticket.priority_class, 'contact', create_ticket.contact)
        || case when create_ticket.offline_number is null then '{}'::jsonb
                else jsonb_build_object('offline_number', create_ticket.offline_number) end);
    if v_replay is not null then
        return v_replay;
    end if;
    -- After the replay: a retry of a ticket already issued gets its answer even if the policy changed since.
    if create_ticket.contact is not null and create_ticket.contact <> 'null'::jsonb
       and not qms.tenant_keeps_contacts(v_tenant) then
        perform qms.fail(400, 'CONTACT_NOT_ALLOWED', 'this organisation does not keep contact data',
                         'Issue the ticket without a phone number or e-mail; the customer follows it on its status page.');
    end if;
    select * into v_service from qms.open_service(v_tenant, create_ticket.service_id);

    -- The whole row is built here, so its ticket.created event (and hash) is known before the one insert.
    v_now := clock_timestamp();
    v_new.tenant_id := v_tenant;
    v_new.ticket_id := gen_random_uuid();
    v_new.branch_id := v_service.branch_id;
    v_new.service_id := create_ticket.service_id;
    v_new.area_id := v_service.area_id;
    v_new.business_date := qms.business_date(v_service.timezone);
    v_new.status := 'waiting';
    v_new.channel := create_ticket.channel;
    v_new.priority_class := create_ticket.priority_class;
    v_new.priority_rank := case v_new.priority_class when 'emergency' then 0 when 'vip' then 1
                                                     when 'priority' then 2 else 3 end;
    v_new.returned := false;
    v_new.queued_at := v_now;
    v_new.created_at := v_now;
    -- Everything that does not need the number is done before the service's number-counter row is locked
    -- (that lock lasts until commit and serialises the service's issues): the policy and the position, which
    -- counts the waiting queue (a new ticket queues behind every visible ticket of its class and above).
    v_number_format := qms.effective_policy(v_tenant, v_service.branch_id, v_new.service_id) ->> 'number_format';
    v_estimate := qms.queue_estimate(v_new);
    insert into qms.ticket_number_counters as c (tenant_id, service_id, business_date, last_n)
    values (v_tenant, v_new.service_id, v_new.business_date, 1)
    on conflict (tenant_id, service_id, business_date) do update set last_n = c.last_n + 1
    returning c.last_n into v_new.number_seq;
    -- A kiosk's offline ticket keeps the number it printed; number_seq still counts the service's issues.
    v_new.ticket_number := coalesce(create_ticket.offline_number,
                                    qms.format_ticket_number(v_number_format, v_service.prefix, v_new.number_seq));
    -- The customer's secret for the public status page: 122 random bits, only its hash is stored.
    v_secret := replace(gen_random_uuid()::text, '-', '');
    v_new.access_secret_hash := sha256(convert_to(v_secret, 'UTF8'));
    v_ticket := qms.advance_ticket(null, v_new, 'ticket.created', '{}', create_ticket.request_id);
    if create_ticket.contact is not null and create_ticket.contact <> 'null'::jsonb then
        insert into qms.ticket_contacts (tenant_id, ticket_id, phone, email, language, consent)
        values (v_tenant, v_ticket.ticket_id, nullif(create_ticket.contact ->> 'phone', ''),
                nullif(create_ticket.contact ->> 'email', ''), coalesce(create_ticket.contact ->> 'language', 'en'),
                true);
    end if;
    -- The status page's link, for this answer and, until commit, for the ticket.created notification
    -- (qms.tg_ticket_events__notify): the secret is stored nowhere but hashed.
    perform qms.remember_status_url(v_ticket.ticket_id, qms.public_status_url(v_ticket.ticket_id, v_secret));
    return qms.idempotency_finish(create_ticket.request_id, qms.ticket_json(v_ticket, false) || v_estimate
        || jsonb_build_object('status_url', qms.public_status_url(v_ticket.ticket_id, v_secret)));
end
$$;
comment on function api.create_ticket(uuid, text, text, uuid, jsonb, text) is
    'Issue a ticket (waiting) for a service; returns the ticket with position and estimated_wait_seconds. '
    'PT400 INVALID_CHANNEL/INVALID_PRIORITY_CLASS/CONSENT_REQUIRED/INVALID_CONTACT/CONTACT_NOT_ALLOWED, '
    'PT404 SERVICE_NOT_FOUND, '
    'PT409 BRANCH_CLOSED/SERVICE_CLOSED/IDEMPOTENCY_KEY_REUSED.';
