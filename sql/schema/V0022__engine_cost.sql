-- Engine cost per command (docs/benchmarks.md, "Database CPU per command").
-- qms.status_url_setting named one transaction-local setting per issued ticket; PostgreSQL keeps every
-- setting name for the connection's life and sorts and scans them on each SET, so pooled connections grew
-- slower with every ticket they issued. Replaced by one fixed setting (qms.remember_status_url).
drop function if exists qms.status_url_setting(uuid);
