-- The last sale of each symbol, from trades.executed: the intraday mark (newest trade by event
-- time wins; a redelivered or older trade never moves it back).

CREATE TABLE IF NOT EXISTS last_sales (
    symbol        TEXT    PRIMARY KEY,
    price_raw     BIGINT  NOT NULL CHECK (price_raw > 0),
    quantity_raw  BIGINT  NOT NULL CHECK (quantity_raw > 0),
    ts_event      BIGINT  NOT NULL,
    trade_id      TEXT    NOT NULL
);
