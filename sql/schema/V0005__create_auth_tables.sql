-- Gateway authentication state: refresh tokens (opaque to clients, stored as sha256 only).
-- A refresh token is "<tenant_id>.<random>"; the tenant prefix lets every lookup use the tenant-leading
-- primary key. Rotation marks the used row (revoked_at, replaced_by) and inserts its successor in the same
-- family; presenting a rotated token again revokes the whole family (token theft detection).

create table qms.refresh_tokens (
    tenant_id    uuid not null references qms.tenants (tenant_id),
    token_hash   bytea not null check (length(token_hash) = 32),
    token_id     uuid not null default gen_random_uuid(),
    family_id    uuid not null,
    user_id      uuid not null,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null,
    revoked_at   timestamptz,
    replaced_by  uuid,
    ip           text,
    user_agent   text,
    primary key (tenant_id, token_hash),
    unique (tenant_id, token_id),
    foreign key (tenant_id, user_id) references qms.users (tenant_id, user_id) on delete cascade
);
create index refresh_tokens_family_idx on qms.refresh_tokens (tenant_id, family_id);
create index refresh_tokens_user_idx on qms.refresh_tokens (tenant_id, user_id);
create index refresh_tokens_expires_idx on qms.refresh_tokens (tenant_id, expires_at);

comment on table qms.refresh_tokens is
    'Refresh tokens of the gateway (sha256 of the opaque token), rotated on use; read and written only '
    'through the qms.auth_* security definer functions.';

alter table qms.refresh_tokens enable row level security;
alter table qms.refresh_tokens force row level security;
