-- api.create_ticket gains offline_number (a kiosk's offline ticket keeps its printed number): the old
-- signature goes.
drop function if exists api.create_ticket(uuid, text, text, uuid, jsonb);
