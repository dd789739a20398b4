-- Every halt and resume, kept forever as the audit trail; the active state is derived from it.
CREATE TABLE halt_events (
    seq             BIGSERIAL UNIQUE,
    event_id        TEXT PRIMARY KEY,
    scope           TEXT NOT NULL CHECK (scope IN ('USER', 'SYMBOL')),
    target          TEXT NOT NULL,
    action          TEXT NOT NULL CHECK (action IN ('HALT', 'RESUME')),
    reason          TEXT NOT NULL,
    source_alert_id TEXT,
    expires_at_ns   BIGINT,
    requested_by    TEXT NOT NULL,
    ts_event        BIGINT NOT NULL,
    published       BOOLEAN NOT NULL DEFAULT FALSE,
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX halt_events_target ON halt_events (scope, target, ts_event);
CREATE INDEX halt_events_unpublished ON halt_events (seq) WHERE NOT published;
