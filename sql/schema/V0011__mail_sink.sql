-- The local mail sink of `qms up` (workers/mailsink.py) keeps what it receives here, per tenant (from the
-- sender's X-QMS-Tenant header), so an admin sees the notifications a tenant's customers would get without a
-- real mail server. Development only; purged by retention with the other notification data.
create table qms.mail_sink_messages (
    tenant_id    uuid not null references qms.tenants (tenant_id) on delete cascade,
    message_id   bigint generated always as identity,
    received_at  timestamptz not null default now(),
    mail_from    text not null,
    rcpt_to      text[] not null,
    subject      text,
    body_text    text,
    body_html    text,
    headers      jsonb not null default '{}',
    primary key (tenant_id, message_id)
);
create index mail_sink_messages_received_idx on qms.mail_sink_messages (received_at);
alter table qms.mail_sink_messages enable row level security;
alter table qms.mail_sink_messages force row level security;
