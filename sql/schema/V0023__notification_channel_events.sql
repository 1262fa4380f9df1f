-- Notification policy per channel and event: channel_events {channel: [events]} narrows, per channel, the
-- events it carries (a channel without a key carries every event of `events`), so a tenant can send, say,
-- "called" by SMS and everything by e-mail. api.set_notification_settings gains the parameter.
alter table qms.notification_settings
    add column channel_events jsonb not null default '{}' check (jsonb_typeof(channel_events) = 'object');
drop function if exists api.set_notification_settings(boolean, text[], text[], integer);
