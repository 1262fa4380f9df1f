-- Notification templates of the caller's tenant, versioned (docs/adr/0013-notification-templates.md).
-- Text is Jinja2, rendered sandboxed by the sender (and by the gateway's preview route).
--
-- api.create_notification_template(event_type, channel, language, body_text, subject, body_html) -> template:
--   admin; a new inactive version (1 + the highest of that event, channel and language).
--   Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_TEMPLATE (unknown event or channel,
--   language not two lower-case letters, empty or too long body, e-mail without a subject).
--   Not idempotent (each call is a new version). Audited (notification_template.create).
-- api.activate_notification_template(template_id) -> template: admin; that version becomes the active one
--   (the previous active version of its event, channel and language is deactivated).
--   Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT404 TEMPLATE_NOT_FOUND. Idempotent. Audited.
--   Locking: the template rows of that event, channel and language.
-- api.get_notification_template(event_type, channel, language, template_id) -> template: admin; a given
--   version, else the active one, else the shipped default (version 0). Used by the preview.
--   Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT404 TEMPLATE_NOT_FOUND, PT400 INVALID_TEMPLATE.
-- api.list_notification_templates() -> array of every version (admin). Errors: PT403, PT401.
create or replace function qms.template_json(p_row qms.notification_templates) returns jsonb
    language sql immutable
as $$
    select jsonb_build_object('template_id', p_row.template_id, 'event_type', p_row.event_type,
                              'channel', p_row.channel, 'language', p_row.language, 'version', p_row.version,
                              'subject', p_row.subject, 'body_text', p_row.body_text, 'body_html', p_row.body_html,
                              'is_active', p_row.is_active, 'created_at', p_row.created_at)
$$;
comment on function qms.template_json(qms.notification_templates) is 'A template as the admin api returns it.';

create or replace function qms.validate_template_key(p_event_type text, p_channel text, p_language text) returns void
    language plpgsql immutable
as $$
begin
    if p_event_type is null or qms.default_notification_template(p_event_type, 'email', 'en') is null
       or p_channel is null or p_channel not in ('email', 'sms', 'whatsapp', 'push')
       or p_language is null or p_language !~ '^[a-z]{2}$' then
        perform qms.fail(400, 'INVALID_TEMPLATE', 'unknown event or channel, or a language that is not two letters',
                         'Events: ticket.created, ticket.called, ticket.recalled, ticket.ahead, ticket.no_show, '
                         'ticket.cancelled; channels: email, sms, whatsapp, push; language e.g. "id".');
    end if;
end
$$;
comment on function qms.validate_template_key(text, text, text) is
    'PT400 INVALID_TEMPLATE unless event, channel and language name a template slot.';

create or replace function api.create_notification_template(event_type text, channel text, language text,
                                                            body_text text, subject text default null,
                                                            body_html text default null)
    returns jsonb
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
    v_row qms.notification_templates;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    perform qms.validate_template_key(create_notification_template.event_type, create_notification_template.channel,
                                      create_notification_template.language);
    if coalesce(length(create_notification_template.body_text), 0) not between 1 and 10000
       or coalesce(length(create_notification_template.body_html), 0) > 50000
       or (create_notification_template.channel = 'email'
           and coalesce(length(create_notification_template.subject), 0) not between 1 and 500) then
        perform qms.fail(400, 'INVALID_TEMPLATE', 'the body (1..10000 characters) or e-mail subject is missing or too long',
                         'Send body_text, and a subject for e-mail; body_html is optional.');
    end if;
    -- One version number at a time per slot: the advisory lock serialises concurrent creates of one slot.
    perform pg_advisory_xact_lock(hashtextextended(concat_ws('/', v_tenant, create_notification_template.event_type,
                                  create_notification_template.channel, create_notification_template.language), 0));
    insert into qms.notification_templates (tenant_id, event_type, channel, language, version, subject, body_text,
                                            body_html, created_by)
    select v_tenant, create_notification_template.event_type, create_notification_template.channel,
           create_notification_template.language, coalesce(max(t.version), 0) + 1,
           create_notification_template.subject, create_notification_template.body_text,
           create_notification_template.body_html, qms.current_sub()
    from qms.notification_templates t
    where t.tenant_id = v_tenant and t.event_type = create_notification_template.event_type
      and t.channel = create_notification_template.channel and t.language = create_notification_template.language
    returning * into v_row;
    perform qms.audit_write('notification_template.create', 'notification_template', v_row.template_id::text,
                            null, qms.template_json(v_row));
    return qms.template_json(v_row);
end
$$;
comment on function api.create_notification_template(text, text, text, text, text, text) is
    'New inactive template version of an event, channel and language (admin). PT400 INVALID_TEMPLATE.';

create or replace function api.activate_notification_template(template_id uuid) returns jsonb
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
    v_row qms.notification_templates;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    select * into v_row from qms.notification_templates t
    where t.tenant_id = v_tenant and t.template_id = activate_notification_template.template_id
    for update;
    if not found then
        perform qms.fail(404, 'TEMPLATE_NOT_FOUND', 'template not found', 'List templates to find its id.');
    end if;
    update qms.notification_templates t set is_active = false
     where t.tenant_id = v_tenant and t.event_type = v_row.event_type and t.channel = v_row.channel
       and t.language = v_row.language and t.is_active and t.template_id <> v_row.template_id;
    update qms.notification_templates t set is_active = true
     where t.tenant_id = v_tenant and t.template_id = v_row.template_id
    returning * into v_row;
    perform qms.audit_write('notification_template.activate', 'notification_template', v_row.template_id::text,
                            null, qms.template_json(v_row));
    return qms.template_json(v_row);
end
$$;
comment on function api.activate_notification_template(uuid) is
    'Make a template version the active one of its slot (admin). PT404 TEMPLATE_NOT_FOUND.';

create or replace function api.get_notification_template(event_type text default null, channel text default null,
                                                         language text default null, template_id uuid default null)
    returns jsonb
    language plpgsql
    stable
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
    v_row qms.notification_templates;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    if get_notification_template.template_id is not null then
        select * into v_row from qms.notification_templates t
        where t.tenant_id = v_tenant and t.template_id = get_notification_template.template_id;
        if not found then
            perform qms.fail(404, 'TEMPLATE_NOT_FOUND', 'template not found', 'List templates to find its id.');
        end if;
        return qms.template_json(v_row);
    end if;
    perform qms.validate_template_key(get_notification_template.event_type, get_notification_template.channel,
                                      get_notification_template.language);
    select * into v_row from qms.notification_templates t
    where t.tenant_id = v_tenant and t.event_type = get_notification_template.event_type
      and t.channel = get_notification_template.channel and t.language = get_notification_template.language
      and t.is_active;
    if found then
        return qms.template_json(v_row);
    end if;
    return qms.default_notification_template(get_notification_template.event_type, get_notification_template.channel,
                                             get_notification_template.language)
        || jsonb_build_object('template_id', null, 'is_active', true);
end
$$;
comment on function api.get_notification_template(text, text, text, uuid) is
    'A template version, else the active one of a slot, else the shipped default (admin). PT404 TEMPLATE_NOT_FOUND.';

create or replace function api.list_notification_templates() returns jsonb
    language plpgsql
    stable
    security invoker
as $$
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    return (select coalesce(jsonb_agg(qms.template_json(t) order by t.event_type, t.channel, t.language, t.version), '[]')
            from qms.notification_templates t where t.tenant_id = v_tenant);
end
$$;
comment on function api.list_notification_templates() is 'Every template version of the tenant (admin).';
