-- Notification settings of the caller's tenant (docs/adr/0012-notification-outbox.md).
--
-- api.get_notification_settings() -> {enabled, channels, events, channel_events, max_attempts, providers}: admins and
--   supervisors; the defaults (off) when never set. providers ([{channel, kind, config, secret_set}]) for
--   admins only; provider secrets are never returned, only whether one is stored (secret_set, through
--   qms.provider_secret_channels). Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED. Read-only.
-- api.set_notification_settings(enabled, channels, events, max_attempts, channel_events) -> same as get: admin; a null
--   argument keeps the stored value. Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED,
--   PT400 INVALID_NOTIFICATION_SETTINGS (unknown channel or event, max_attempts outside 1..20).
--   Idempotent. Audited (notification_settings.set). Locking: the tenant's settings row.
-- qms.provider_secret_channels(): the channels of the caller's tenant whose provider has stored credentials.
--   Security definer: admins have no privilege on the secret column; this tells only whether it is set.
--   No errors, read-only.
create or replace function qms.provider_secret_channels() returns text[]
    language sql
    stable
    security definer
    set search_path = ''
as $$
    select coalesce(array_agg(p.channel order by p.channel), '{}')
    from qms.notification_providers p
    where p.tenant_id = qms.current_tenant_id() and p.secret is not null
$$;
comment on function qms.provider_secret_channels() is
    'Channels of the caller''s tenant whose provider has credentials stored (never the credentials).';

create or replace function api.get_notification_settings() returns jsonb
    language plpgsql
    stable
    security invoker
as $$
declare
    v_tenant uuid;
    v_row qms.notification_settings;
    v_out jsonb;
begin
    perform qms.require_role('qms_admin', 'qms_supervisor');
    v_tenant := qms.require_tenant();
    select * into v_row from qms.notification_settings s where s.tenant_id = v_tenant;
    if not found then
        v_row := row(v_tenant, false, '{email}', '{ticket.created,ticket.called,ticket.recalled,ticket.ahead}', 5,
                     null, '{}')::qms.notification_settings;
    end if;
    v_out := jsonb_build_object('enabled', v_row.enabled, 'channels', to_jsonb(v_row.channels),
                                'events', to_jsonb(v_row.events), 'channel_events', v_row.channel_events,
                                'max_attempts', v_row.max_attempts);
    if current_user = 'qms_admin' then
        v_out := v_out || jsonb_build_object('providers',
            (select coalesce(jsonb_agg(jsonb_build_object('channel', p.channel, 'kind', p.kind, 'config', p.config,
                                                          'secret_set', p.channel = any (qms.provider_secret_channels()))
                                       order by p.channel), '[]')
             from qms.notification_providers p where p.tenant_id = v_tenant));
    end if;
    return v_out;
end
$$;
comment on function api.get_notification_settings() is
    'The tenant''s notification settings (admin, supervisor; providers for admins, with secret_set but never the secret).';

create or replace function api.set_notification_settings(enabled boolean default null, channels text[] default null,
                                                         events text[] default null, max_attempts integer default null,
                                                         channel_events jsonb default null)
    returns jsonb
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
    v_before qms.notification_settings;
    v_after qms.notification_settings;
    c_channels constant text[] := array['email', 'sms', 'whatsapp', 'push'];
    c_events constant text[] := array['ticket.created', 'ticket.called', 'ticket.recalled', 'ticket.ahead',
                                      'ticket.no_show', 'ticket.cancelled'];
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    if not coalesce(set_notification_settings.channels, '{}') <@ c_channels
       or not coalesce(set_notification_settings.events, '{}') <@ c_events
       or set_notification_settings.max_attempts not between 1 and 20
       or (set_notification_settings.channel_events is not null
           and (jsonb_typeof(set_notification_settings.channel_events) <> 'object'
                or exists (select 1 from jsonb_each(set_notification_settings.channel_events) e
                           where not e.key = any (c_channels)
                              or jsonb_typeof(e.value) <> 'array'
                              or exists (select 1 from jsonb_array_elements(e.value) v
                                         where jsonb_typeof(v) <> 'string'
                                            or not (v #>> '{}') = any (c_events))))) then
        perform qms.fail(400, 'INVALID_NOTIFICATION_SETTINGS', 'unknown channel or event, or max_attempts out of range',
                         'Channels: email, sms, whatsapp, push; events: ticket.created, ticket.called, '
                         'ticket.recalled, ticket.ahead, ticket.no_show, ticket.cancelled; max_attempts 1..20; '
                         'channel_events: {"sms": ["ticket.called"]}.');
    end if;
    insert into qms.notification_settings (tenant_id) values (v_tenant) on conflict do nothing;
    select * into strict v_before from qms.notification_settings s where s.tenant_id = v_tenant for update;
    update qms.notification_settings s
       set enabled = coalesce(set_notification_settings.enabled, s.enabled),
           channels = coalesce(set_notification_settings.channels, s.channels),
           events = coalesce(set_notification_settings.events, s.events),
           max_attempts = coalesce(set_notification_settings.max_attempts, s.max_attempts),
           channel_events = coalesce(set_notification_settings.channel_events, s.channel_events),
           updated_at = now()
     where s.tenant_id = v_tenant
    returning * into v_after;
    perform qms.audit_write('notification_settings.set', 'notification_settings', v_tenant::text,
                            to_jsonb(v_before), to_jsonb(v_after));
    return api.get_notification_settings();
end
$$;
comment on function api.set_notification_settings(boolean, text[], text[], integer, jsonb) is
    'Change the tenant''s notification settings (admin; null keeps a value; channel_events {channel: [events]} '
    'narrows the events of a channel). PT400 INVALID_NOTIFICATION_SETTINGS.';

-- api.set_notification_provider(channel, kind, config, secret) -> {channel, kind, config}: admin; the
--   provider of one channel of the tenant. secret is the Fernet token of the credentials (the gateway route
--   PUT /api/notification-providers/{channel} encrypts them with QMS_SECRET_KEY; plain text is refused);
--   a null secret keeps the stored one. The secret is never returned. Kinds per channel: email smtp|log,
--   sms http|log, whatsapp whatsapp|log, push webpush|log. A webpush config carries vapid_public_key (the
--   route derives it from the private key; the status page subscribes with it) and subject (mailto:/https:).
--   Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_NOTIFICATION_PROVIDER.
--   Idempotent. Audited (notification_provider.set, without the secret). Locking: the provider row.
create or replace function api.set_notification_provider(channel text, kind text, config jsonb default '{}',
                                                         secret text default null)
    returns jsonb
    language plpgsql
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
    v_row qms.notification_providers;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    if set_notification_provider.channel is null or set_notification_provider.kind is null
       or (set_notification_provider.channel, set_notification_provider.kind) not in (
              ('email', 'smtp'), ('email', 'log'), ('sms', 'http'), ('sms', 'log'), ('whatsapp', 'whatsapp'),
              ('whatsapp', 'log'), ('push', 'webpush'), ('push', 'log'))
       or jsonb_typeof(coalesce(set_notification_provider.config, '{}')) <> 'object'
       or set_notification_provider.secret !~ '^gAAAAA[A-Za-z0-9_=-]+$' then
        perform qms.fail(400, 'INVALID_NOTIFICATION_PROVIDER',
                         'unknown channel or provider kind, a kind that does not serve the channel, or a bad config',
                         'email: smtp|log, sms: http|log, whatsapp: whatsapp|log, push: webpush|log; config an '
                         'object; credentials through PUT /api/notification-providers/{channel} (encrypted).');
    end if;
    -- Web Push: the status page subscribes with the VAPID public key (qms.push_application_server_key).
    if set_notification_provider.kind = 'webpush'
       and (pg_catalog.length(qms.base64url_decode(set_notification_provider.config ->> 'vapid_public_key'))
                is distinct from 65
            or coalesce(set_notification_provider.config ->> 'subject', 'mailto:') !~ '^(mailto:|https://)') then
        perform qms.fail(400, 'INVALID_NOTIFICATION_PROVIDER',
                         'a webpush provider needs config.vapid_public_key (base64url, 65 bytes) and a mailto: or '
                         'https: subject',
                         'Send credentials {"vapid_private_key": ...} to PUT /api/notification-providers/push: '
                         'the route derives the public key.');
    end if;
    -- Two statements so the stored secret is never read (admins have no privilege on that column).
    insert into qms.notification_providers as p (tenant_id, channel, kind, config, secret)
    values (v_tenant, set_notification_provider.channel, set_notification_provider.kind,
            coalesce(set_notification_provider.config, '{}'), set_notification_provider.secret)
    on conflict (tenant_id, channel) do update
       set kind = excluded.kind, config = excluded.config, updated_at = now()
    returning p.tenant_id, p.channel, p.kind, p.config, null, p.updated_at into v_row;
    if set_notification_provider.secret is not null then
        update qms.notification_providers p set secret = set_notification_provider.secret
         where p.tenant_id = v_tenant and p.channel = set_notification_provider.channel;
    end if;
    perform qms.audit_write('notification_provider.set', 'notification_provider', v_row.channel, null,
                            jsonb_build_object('channel', v_row.channel, 'kind', v_row.kind, 'config', v_row.config));
    return jsonb_build_object('channel', v_row.channel, 'kind', v_row.kind, 'config', v_row.config);
end
$$;
comment on function api.set_notification_provider(text, text, jsonb, text) is
    'Set the provider of a channel (admin; secret = encrypted credentials, never returned). '
    'PT400 INVALID_NOTIFICATION_PROVIDER.';
