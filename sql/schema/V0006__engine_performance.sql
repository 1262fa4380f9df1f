-- Queue engine performance (docs/engine.md, docs/benchmarks.md).
--
-- A status change moves a ticket between partial indexes, so the engine's ticket update is never HOT and
-- inserts a new entry into every non-partial index of qms.tickets. Two of them are redundant:
--   * tickets_branch_day_idx (tenant_id, branch_id, business_date) is a prefix of tickets_number_idx
--     (tenant_id, branch_id, business_date, ticket_number), which serves the same look-ups;
--   * the unique key (tenant_id, branch_id, ticket_id) is implied by the primary key (tenant_id, ticket_id)
--     and no foreign key references it.
-- Dropping them saves two index inserts per ticket command (issue, call, every action).
drop index qms.tickets_branch_day_idx;
alter table qms.tickets drop constraint tickets_tenant_id_branch_id_ticket_id_key;
