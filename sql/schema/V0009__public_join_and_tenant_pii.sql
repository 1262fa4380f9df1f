-- api.update_tenant gains pii_policy (the admin console's tenant settings): the old signature goes.
drop function if exists api.update_tenant(text, jsonb, jsonb);
