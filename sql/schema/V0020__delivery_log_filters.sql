-- api.list_notification_deliveries gains channel and date-range filters (from_ts, to_ts) for the admin
-- console's delivery log. Its signature changes, so the old one is dropped here; the function file
-- (sql/functions/api/notification_deliveries.sql) creates the new one when functions are re-applied.
drop function if exists api.list_notification_deliveries(text, uuid, integer);
