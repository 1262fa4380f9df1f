-- api.list_audit_logs gains a `target` filter (a target type such as 'ticket', or one target id) for the
-- admin console's audit viewer. Its signature changes, so the old one is dropped here; the function file
-- (sql/functions/api/list_audit_logs.sql) creates the new one when functions are re-applied.
drop function if exists api.list_audit_logs(timestamptz, timestamptz, text, text, integer);
