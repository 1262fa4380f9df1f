-- Event log keys (docs/engine.md#events, docs/benchmarks.md).
--
-- Every engine command appends one event, so each index of qms.ticket_events costs an insert per command.
-- The primary key (tenant_id, seq) serves no query: the relay and resync read by seq (ticket_events_seq_idx),
-- scoped readers by (tenant_id, branch_id, seq), and per-ticket reads, verification and folding by
-- (tenant_id, ticket_id, ticket_seq). That unique key identifies an event as well, so it becomes the
-- primary key (one rebuild of that index) and the old one goes: one index insert less per command. seq
-- stays unique by its identity default (generated always).
alter table qms.ticket_events
    drop constraint ticket_events_pkey,
    drop constraint ticket_events_tenant_id_ticket_id_ticket_seq_key,
    add constraint ticket_events_pkey primary key (tenant_id, ticket_id, ticket_seq);
