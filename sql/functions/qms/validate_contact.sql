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
