-- The surveillance service's own data: alerts with their version history and review workflow,
-- threshold changes, historical scan jobs, and the archive of every consumed event.
-- Prices and quantities inside payloads are raw fixed point (value * 10^9, see nexus/money.py).

-- The current state of each alert (its latest version) and its review status.
CREATE TABLE alerts (
    seq           BIGSERIAL UNIQUE,
    alert_id      TEXT    PRIMARY KEY,
    version       INTEGER NOT NULL CHECK (version >= 1),
    alert_type    TEXT    NOT NULL,
    severity      TEXT    NOT NULL CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
    score         DOUBLE PRECISION NOT NULL,
    user_id       TEXT    NOT NULL,
    account_ids   TEXT[]  NOT NULL DEFAULT '{}',
    owner_id      TEXT,
    symbol        TEXT    NOT NULL,
    start_ns      BIGINT  NOT NULL,
    end_ns        BIGINT  NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'OPEN'
                  CHECK (status IN ('OPEN', 'UNDER_REVIEW', 'ESCALATED', 'DISMISSED', 'CONFIRMED')),
    payload       JSONB   NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX alerts_by_user ON alerts (user_id, seq);
CREATE INDEX alerts_by_symbol ON alerts (symbol, seq);
CREATE INDEX alerts_by_time ON alerts (start_ns);

-- Every version of every alert: (alert_id, version) makes a redelivered batch a no-op;
-- ``published`` is the outbox flag of ``surveillance.alerts``.
CREATE TABLE alert_versions (
    seq          BIGSERIAL UNIQUE,
    alert_id     TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    severity     TEXT    NOT NULL,
    payload      JSONB   NOT NULL,
    published    BOOLEAN NOT NULL DEFAULT FALSE,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_id, version)
);
CREATE INDEX alert_versions_unpublished ON alert_versions (seq) WHERE NOT published;

-- The review workflow's audit trail: who moved which alert from what to what, when and why.
CREATE TABLE alert_status_history (
    seq             BIGSERIAL PRIMARY KEY,
    alert_id        TEXT NOT NULL REFERENCES alerts (alert_id),
    from_status     TEXT NOT NULL,
    to_status       TEXT NOT NULL,
    reason_category TEXT,
    reason          TEXT NOT NULL,
    actor           TEXT NOT NULL,
    at              TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX alert_status_history_by_alert ON alert_status_history (alert_id, seq);

-- Threshold changes per detector (the latest row is in force; all rows are the audit trail).
CREATE TABLE threshold_changes (
    seq         BIGSERIAL PRIMARY KEY,
    detector    TEXT  NOT NULL,
    thresholds  JSONB NOT NULL,
    actor       TEXT  NOT NULL,
    reason      TEXT  NOT NULL,
    at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX threshold_changes_by_detector ON threshold_changes (detector, seq);

-- Beneficial owners of accounts (KYC links): accounts of one owner trading with each other is
-- wash trading even across users.
CREATE TABLE account_owners (
    account_id  TEXT PRIMARY KEY,
    owner_id    TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Historical scan jobs and their results (kept apart from the live alerts).
CREATE TABLE scan_jobs (
    scan_id        TEXT PRIMARY KEY,
    status         TEXT NOT NULL
                   CHECK (status IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')),
    start_ns       BIGINT NOT NULL,
    end_ns         BIGINT NOT NULL,
    symbols        TEXT[],
    users          TEXT[],
    requested_by   TEXT NOT NULL,
    events_total   BIGINT NOT NULL DEFAULT 0,
    events_scanned BIGINT NOT NULL DEFAULT 0,
    alerts_found   INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at    TIMESTAMPTZ
);

CREATE TABLE scan_alerts (
    scan_id   TEXT NOT NULL REFERENCES scan_jobs (scan_id) ON DELETE CASCADE,
    alert_id  TEXT NOT NULL,
    version   INTEGER NOT NULL,
    seq       BIGSERIAL,
    payload   JSONB NOT NULL,
    PRIMARY KEY (scan_id, alert_id)
);

-- What the consumer read, in the order the engine saw it: the source of historical scans and
-- of the engine's warm-up after a restart. (topic, event_id) makes a redelivery a no-op;
-- (topic, partition, offset) lets a restarted consumer skip what the warm-up already fed.
CREATE TABLE event_archive (
    seq         BIGSERIAL PRIMARY KEY,
    topic       TEXT     NOT NULL,
    event_id    TEXT     NOT NULL,
    kind        SMALLINT NOT NULL,
    symbol      TEXT     NOT NULL,
    ts_event    BIGINT   NOT NULL,
    part        INTEGER  NOT NULL,
    msg_offset  BIGINT   NOT NULL,
    payload     BYTEA    NOT NULL,
    UNIQUE (topic, event_id)
);
CREATE INDEX event_archive_by_time ON event_archive (ts_event);
