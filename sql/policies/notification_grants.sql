-- Who may call the notification functions (docs/adr/0012-notification-outbox.md). The sender's functions
-- live in the platform schema `worker` (qms_worker only; the gateway never exposes it).
revoke all on schema worker from public;
grant usage on schema worker to qms_worker;
revoke execute on all functions in schema worker from public;
alter default privileges in schema worker revoke execute on functions from public;
grant execute on function worker.claim_notifications(text, integer, integer) to qms_worker;
grant execute on function worker.finish_notification(uuid, uuid, text, text, text, text, text, uuid, integer,
                                                     double precision) to qms_worker;
grant execute on function worker.record_delivery_report(text, text, text) to qms_worker;
grant execute on function worker.suppress_address(uuid, text, text, text) to qms_worker;
grant execute on function worker.remove_push_subscription(uuid, uuid, text) to qms_worker;

revoke all on function api.get_notification_settings() from public;
grant execute on function api.get_notification_settings() to qms_admin, qms_supervisor;
revoke all on function qms.provider_secret_channels() from public;
grant execute on function qms.provider_secret_channels() to qms_admin;
revoke all on function api.set_notification_settings(boolean, text[], text[], integer, jsonb) from public;
grant execute on function api.set_notification_settings(boolean, text[], text[], integer, jsonb) to qms_admin;
revoke all on function api.list_notification_deliveries(text, uuid, integer, text, timestamptz, timestamptz) from public;
grant execute on function api.list_notification_deliveries(text, uuid, integer, text, timestamptz, timestamptz)
    to qms_admin, qms_supervisor;
revoke all on function api.list_notification_attempts(uuid) from public;
grant execute on function api.list_notification_attempts(uuid) to qms_admin, qms_supervisor;
revoke all on function api.list_notification_skips(integer) from public;
grant execute on function api.list_notification_skips(integer) to qms_admin, qms_supervisor;
revoke all on function api.redrive_notification(uuid) from public;
grant execute on function api.redrive_notification(uuid) to qms_admin;
revoke all on function api.unsubscribe_notifications(uuid) from public;
grant execute on function api.unsubscribe_notifications(uuid)
    to qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin;
revoke all on function api.create_notification_template(text, text, text, text, text, text) from public;
grant execute on function api.create_notification_template(text, text, text, text, text, text) to qms_admin;
revoke all on function api.activate_notification_template(uuid) from public;
grant execute on function api.activate_notification_template(uuid) to qms_admin;
revoke all on function api.get_notification_template(text, text, text, uuid) from public;
grant execute on function api.get_notification_template(text, text, text, uuid) to qms_admin;
revoke all on function api.list_notification_templates() from public;
grant execute on function api.list_notification_templates() to qms_admin;
revoke all on function api.set_notification_provider(text, text, jsonb, text) from public;
grant execute on function api.set_notification_provider(text, text, jsonb, text) to qms_admin;
grant execute on function worker.notification_metrics() to qms_worker;
revoke all on function api.list_sink_messages(integer) from public;
grant execute on function api.list_sink_messages(integer) to qms_admin;
grant execute on function worker.purge_notification_data(integer, interval) to qms_worker;
