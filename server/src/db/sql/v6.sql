-- Hub schema version 6. Frozen: never edit; later versions change it in their own files.

-- What was done to the hub's organisations, codes and devices, by whom and from where, in the
-- transaction that did it. `actor` is the operator's account on the hub's host or the device
-- that enrolled; `origin` the host a command ran on or the client address of a request.
-- `subject` names what the entry is about (a device id, a code id, an organisation id); never
-- a code, a token or a key. Nothing ever updates or deletes a row.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    origin TEXT NOT NULL,
    subject TEXT,
    org_id TEXT,
    detail TEXT
);
CREATE INDEX audit_log_by_time ON audit_log (at);
