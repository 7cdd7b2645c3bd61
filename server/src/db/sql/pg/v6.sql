-- Hub schema version 6 on PostgreSQL: the audit log (see ../v6.sql). Frozen: never edit.

CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    origin TEXT NOT NULL,
    subject TEXT,
    org_id TEXT,
    detail TEXT
);
CREATE INDEX audit_log_by_time ON audit_log (at);
