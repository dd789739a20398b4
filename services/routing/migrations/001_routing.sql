-- Smart order router: parents, decisions, children, fills, and the outbox of their events.
-- Every row has a deterministic id under a primary key, so a retried write changes nothing.
-- Amounts are exact decimals (NUMERIC(38, 9), the fixed-point scale of nexus.money).

CREATE TABLE parent_orders (
    order_id          TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL,
    symbol            TEXT NOT NULL,
    side              TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    quantity          NUMERIC(38, 9) NOT NULL CHECK (quantity > 0),
    limit_price       NUMERIC(38, 9) NOT NULL CHECK (limit_price >= 0),
    strategy          TEXT NOT NULL,
    status            TEXT NOT NULL,
    filled_quantity   NUMERIC(38, 9) NOT NULL DEFAULT 0,
    leaves_quantity   NUMERIC(38, 9) NOT NULL DEFAULT 0,
    in_doubt_quantity NUMERIC(38, 9) NOT NULL DEFAULT 0,
    average_price     NUMERIC(38, 9) NOT NULL DEFAULT 0,
    fees              NUMERIC(38, 9) NOT NULL DEFAULT 0,
    reason            TEXT NOT NULL DEFAULT '',
    ts_start          BIGINT NOT NULL,
    ts_end            BIGINT,
    CHECK (filled_quantity + leaves_quantity + in_doubt_quantity <= quantity)
);
CREATE INDEX parent_orders_user ON parent_orders (user_id, ts_start DESC);

CREATE TABLE routing_decisions (
    decision_id  TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    symbol       TEXT NOT NULL,
    round        INTEGER NOT NULL,
    strategy     TEXT NOT NULL,
    executed     BOOLEAN NOT NULL,
    rule_set     TEXT NOT NULL,
    decision     JSONB NOT NULL,
    ts_event     BIGINT NOT NULL
);
CREATE INDEX routing_decisions_order ON routing_decisions (order_id, round);

CREATE TABLE child_orders (
    child_id          TEXT PRIMARY KEY,
    order_id          TEXT NOT NULL REFERENCES parent_orders (order_id),
    decision_id       TEXT NOT NULL,
    venue             TEXT NOT NULL,
    side              TEXT NOT NULL,
    quantity          NUMERIC(38, 9) NOT NULL CHECK (quantity > 0),
    limit_price       NUMERIC(38, 9) NOT NULL,
    iso               BOOLEAN NOT NULL,
    time_in_force     TEXT NOT NULL,
    round             INTEGER NOT NULL,
    status            TEXT NOT NULL,
    filled_quantity   NUMERIC(38, 9) NOT NULL,
    leaves_quantity   NUMERIC(38, 9) NOT NULL,
    reason            TEXT NOT NULL,
    sent_ns           BIGINT NOT NULL,
    done_ns           BIGINT NOT NULL,
    timed_out         BOOLEAN NOT NULL,
    nbbo_at_decision  JSONB NOT NULL,
    nbbo_at_execution JSONB NOT NULL
);
CREATE INDEX child_orders_order ON child_orders (order_id);

CREATE TABLE routed_fills (
    fill_id           TEXT PRIMARY KEY,
    child_id          TEXT NOT NULL REFERENCES child_orders (child_id),
    order_id          TEXT NOT NULL REFERENCES parent_orders (order_id),
    venue             TEXT NOT NULL,
    price             NUMERIC(38, 9) NOT NULL CHECK (price > 0),
    quantity          NUMERIC(38, 9) NOT NULL CHECK (quantity > 0),
    fee               NUMERIC(38, 9) NOT NULL,
    liquidity         TEXT NOT NULL,
    ts_event          BIGINT NOT NULL,
    nbbo_at_execution JSONB NOT NULL
);
CREATE INDEX routed_fills_order ON routed_fills (order_id);

-- events written in the same transaction as their rows, published by the outbox relay
CREATE TABLE routing_outbox (
    seq          BIGSERIAL PRIMARY KEY,
    event_id     TEXT NOT NULL,
    topic        TEXT NOT NULL,
    key          BYTEA NOT NULL,
    payload      BYTEA NOT NULL,
    published    BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (topic, event_id)
);
CREATE INDEX routing_outbox_pending ON routing_outbox (seq) WHERE NOT published;
