-- One row per start of the in-memory engine. The session number namespaces the order ids and
-- event ids of that run, so a restarted engine never reuses an id already published (consumers
-- deduplicate on them).
CREATE TABLE engine_sessions (
    session    BIGSERIAL PRIMARY KEY,
    venue      TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
