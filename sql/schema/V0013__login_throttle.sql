-- Login throttle (docs/adr/0008-login-throttle-and-input-limits.md, docs/http.md#login-throttle).
--
-- One row per (tenant, scope, subject): scope 'account' (subject = the e-mail as typed, lower-cased and
-- trimmed, whether or not such a user exists, so a lockout says nothing about existence) or 'ip' (subject =
-- the client address the gateway trusts). The gateway's workers share it, so the limits hold whatever
-- worker a guess reaches. Written only by the qms.auth_login_* functions (security definer, executable by
-- qms_authenticator only); no request role reads it.
create table qms.login_throttle (
    tenant_id       uuid not null references qms.tenants (tenant_id),
    scope           text not null check (scope in ('account', 'ip')),
    subject         text not null check (length(subject) between 1 and 320),
    failures        integer not null default 0 check (failures >= 0),
    lockouts        integer not null default 0 check (lockouts >= 0),
    last_failure_at timestamptz not null default now(),
    locked_until    timestamptz,
    primary key (tenant_id, scope, subject)
);
comment on table qms.login_throttle is
    'Failed logins per tenant and account or client address, and the lockout they caused (qms.auth_login_*).';

alter table qms.login_throttle enable row level security;
alter table qms.login_throttle force row level security;
