-- The analytics service's own data: positions from trades.executed, prices for the risk maths.
-- Prices and quantities are raw fixed point (value * 10^9, see nexus/money.py) in BIGINT.

-- One row per user side of a trade: the (trade_id, side) key makes a redelivery a no-op.
CREATE TABLE fills (
    trade_id     TEXT   NOT NULL,
    side         TEXT   NOT NULL CHECK (side IN ('BUY', 'SELL')),
    user_id      TEXT   NOT NULL,
    symbol       TEXT   NOT NULL,
    price_raw    BIGINT NOT NULL CHECK (price_raw > 0),
    quantity_raw BIGINT NOT NULL CHECK (quantity_raw > 0),
    ts_event     BIGINT NOT NULL,
    PRIMARY KEY (trade_id, side)
);

-- Signed net quantity per user and symbol (long > 0, short < 0).
CREATE TABLE positions (
    user_id       TEXT   NOT NULL,
    symbol        TEXT   NOT NULL,
    quantity_raw  BIGINT NOT NULL,
    last_trade_id TEXT   NOT NULL,
    last_ts_event BIGINT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, symbol)
);
CREATE INDEX positions_by_symbol ON positions (symbol, user_id);

-- Daily closes (seeded by the loader or copied from the market data service).
CREATE TABLE prices (
    symbol     TEXT   NOT NULL,
    trade_date DATE   NOT NULL,
    close_raw  BIGINT NOT NULL CHECK (close_raw > 0),
    PRIMARY KEY (symbol, trade_date)
);

-- The latest mid of each symbol from marketdata.quotes (event time wins, not arrival order).
CREATE TABLE latest_prices (
    symbol    TEXT   PRIMARY KEY,
    price_raw BIGINT NOT NULL CHECK (price_raw > 0),
    ts_event  BIGINT NOT NULL
);

-- Optional classification used by stress scenarios (sector and asset-class shocks).
CREATE TABLE instruments (
    symbol      TEXT PRIMARY KEY,
    asset_class TEXT NOT NULL DEFAULT 'equity',
    sector      TEXT NOT NULL DEFAULT '',
    currency    TEXT NOT NULL DEFAULT 'USD'
);
