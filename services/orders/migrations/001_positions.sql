-- Fills (one row per user side of a trade) and the positions they add up to.
-- Prices and quantities are raw fixed-point BIGINT (value * 1e9); money is NUMERIC(38, 9).
CREATE TABLE fills (
    trade_id    TEXT NOT NULL,
    side        TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    user_id     TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    symbol      TEXT NOT NULL,
    price_raw   BIGINT NOT NULL CHECK (price_raw > 0),
    quantity_raw BIGINT NOT NULL CHECK (quantity_raw > 0),
    order_id    TEXT NOT NULL,
    venue       TEXT NOT NULL,
    ts_event    BIGINT NOT NULL,
    PRIMARY KEY (trade_id, side)
);
CREATE INDEX fills_by_user ON fills (user_id, ts_event, trade_id, side);

CREATE TABLE positions (
    user_id       TEXT NOT NULL,
    symbol        TEXT NOT NULL,
    quantity_raw  BIGINT NOT NULL,
    avg_cost_raw  BIGINT NOT NULL,
    realized_pnl  NUMERIC(38, 9) NOT NULL,
    last_trade_id TEXT,
    last_ts_event BIGINT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, symbol)
);
