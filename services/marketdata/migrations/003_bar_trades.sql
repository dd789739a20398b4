-- Intraday bars built from trades.executed, exactly once per trade.
-- open_ts_ns / close_ts_ns are the event times of the bar's first and last trade, so bars
-- merged batch by batch keep the right open and close whatever the delivery order; trades counts
-- the trades in the bar. bar_trades remembers every trade already counted (redelivery is a no-op).

ALTER TABLE intraday_bars ADD COLUMN IF NOT EXISTS open_ts_ns BIGINT NOT NULL DEFAULT 0;
ALTER TABLE intraday_bars ADD COLUMN IF NOT EXISTS close_ts_ns BIGINT NOT NULL DEFAULT 0;
ALTER TABLE intraday_bars ADD COLUMN IF NOT EXISTS trades INTEGER NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS bar_trades (
    trade_id  TEXT    PRIMARY KEY,
    symbol    TEXT    NOT NULL,
    ts_event  BIGINT  NOT NULL
);
