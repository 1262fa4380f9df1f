-- qms.validate_contact: checks the optional contact of api.create_ticket before anything is written.
-- {phone, email, language, consent}: consent must be true (PT400 CONSENT_REQUIRED); at least one of phone
-- and email, each well-formed, language two lower-case letters (PT400 INVALID_CONTACT). Null passes.
-- Immutable, no locks. The message never echoes the contact (PII stays out of logs).
create or replace function qms.validate_contact(p_contact jsonb) returns void
    language plpgsql immutable
as $$
begin
    if p_contact is null or p_contact = 'null'::jsonb then
        return;
    end if;
    if jsonb_typeof(p_contact) <> 'object' then
        perform qms.fail(400, 'INVALID_CONTACT', 'contact must be a JSON object',
                         'Send {"phone": "+62...", "email": "...", "language": "id", "consent": true}.');
    end if;
    if (p_contact -> 'consent') is distinct from 'true'::jsonb then
        perform qms.fail(400, 'CONSENT_REQUIRED', 'contact data is stored only with the customer''s consent',
                         'Ask for consent and send "consent": true, or leave the contact out.');
    end if;
    if coalesce(p_contact ->> 'phone', '') = '' and coalesce(p_contact ->> 'email', '') = ''
       or coalesce(p_contact ->> 'phone', '') <> '' and (p_contact ->> 'phone') !~ '^\+?[0-9 ()-]{6,20}$'
       or coalesce(p_contact ->> 'email', '') <> '' and (p_contact ->> 'email') !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'
       or (p_contact ? 'language' and coalesce(p_contact ->> 'language', '') !~ '^[a-z]{2}$') then
        perform qms.fail(400, 'INVALID_CONTACT', 'contact needs a valid phone or e-mail (and a 2-letter language)',
                         'Phone: digits, spaces, + ( ) -; e-mail: name@domain.tld; language e.g. "en".');
    end if;
end
$$;
comment on function qms.validate_contact(jsonb) is
    'Validate a ticket contact: PT400 CONSENT_REQUIRED without consent=true, PT400 INVALID_CONTACT otherwise.';

-- qms.validate_ticket_request(channel, priority_class, contact): the shape checks of api.create_ticket,
-- before anything is read or written: PT400 INVALID_CHANNEL (kiosk, web, mobile, staff, api),
-- PT400 INVALID_PRIORITY_CLASS (regular, priority, vip, emergency), then the contact (qms.validate_contact).
-- Immutable, no locks.
create or replace function qms.validate_ticket_request(p_channel text, p_priority_class text, p_contact jsonb)
    returns void
    language plpgsql immutable
as $$
begin
    if p_channel is null or p_channel not in ('kiosk', 'web', 'mobile', 'staff', 'api') then
        perform qms.fail(400, 'INVALID_CHANNEL', format('unknown channel %s', left(p_channel, 40)),
                         'Use one of kiosk, web, mobile, staff, api.');
    end if;
    if p_priority_class is null or p_priority_class not in ('regular', 'priority', 'vip', 'emergency') then
        perform qms.fail(400, 'INVALID_PRIORITY_CLASS', format('unknown priority class %s', left(p_priority_class, 40)),
                         'Use one of regular, priority, vip, emergency.');
    end if;
    perform qms.validate_contact(p_contact);
end
$$;
comment on function qms.validate_ticket_request(text, text, jsonb) is
    'Shape checks of create_ticket: PT400 INVALID_CHANNEL, INVALID_PRIORITY_CLASS, CONSENT_REQUIRED, INVALID_CONTACT.';

-- qms.open_service(tenant, service_id) -> (branch_id, area_id, prefix, timezone): the service a ticket is
-- issued for, with its branch, in one read (RLS on both: a branch out of scope reads as closed), checked
-- to be open now in branch time (qms.is_open). Errors: PT404 SERVICE_NOT_FOUND (unknown, inactive, other
-- tenant or outside the caller's branches), PT409 BRANCH_CLOSED (hours, inactive branch),
-- PT409 SERVICE_CLOSED. Stable, no locks.
create or replace function qms.open_service(p_tenant_id uuid, p_service_id uuid,
                                            out branch_id uuid, out area_id uuid, out prefix text, out timezone text)
    language plpgsql stable
as $$
#variable_conflict use_column
declare
    v_service_hours jsonb;
    v_branch_found boolean;
    v_branch_active boolean;
    v_branch_hours jsonb;
begin
    select s.branch_id, s.area_id, s.prefix, s.hours, b.branch_id is not null, b.is_active, b.hours, b.timezone
      into open_service.branch_id, open_service.area_id, open_service.prefix, v_service_hours, v_branch_found,
           v_branch_active, v_branch_hours, open_service.timezone
    from qms.services s
    left join qms.branches b on b.tenant_id = s.tenant_id and b.branch_id = s.branch_id
    where s.tenant_id = p_tenant_id and s.service_id = p_service_id and s.is_active;
    if not found then
        perform qms.fail(404, 'SERVICE_NOT_FOUND', 'service not found',
                         'Pick an active service of a branch you may issue tickets in.');
    end if;
    if not v_branch_found or not v_branch_active or not qms.is_open(v_branch_hours, open_service.timezone) then
        perform qms.fail(409, 'BRANCH_CLOSED', 'the branch is closed now', 'Come back during opening hours.');
    end if;
    if not qms.is_open(v_service_hours, open_service.timezone) then
        perform qms.fail(409, 'SERVICE_CLOSED', 'the service is closed now', 'Come back during its opening hours.');
    end if;
end
$$;
comment on function qms.open_service(uuid, uuid) is
    'The service to issue for (branch, area, prefix, timezone), open now: PT404 SERVICE_NOT_FOUND, '
    'PT409 BRANCH_CLOSED/SERVICE_CLOSED.';

-- qms.tenant_keeps_contacts(tenant): whether the tenant lets customers leave a phone or an e-mail with a
-- ticket (pii_policy.contacts; absent = false). The one rule of api.create_ticket (and so of api.join_queue)
-- and of the join page's contacts_allowed. Reads qms.tenants as the caller (members of the tenant; the
-- public join runs as the owner). Stable, no errors, no locks.
create or replace function qms.tenant_keeps_contacts(p_tenant_id uuid) returns boolean
    language plpgsql stable
as $$
begin
    return coalesce((select (t.pii_policy ->> 'contacts')::boolean from qms.tenants t
                     where t.tenant_id = p_tenant_id), false);
end
$$;
comment on function qms.tenant_keeps_contacts(uuid) is
    'Whether the tenant keeps customers'' contact data (pii_policy.contacts, default false).';
