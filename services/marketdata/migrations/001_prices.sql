-- Price history of the market-data service.
-- Prices are raw fixed point (value * 10^9, see nexus/money.py) in BIGINT: exact, and the same
-- integers the domain core and the events carry. trade_date is the exchange's local date.

CREATE TABLE IF NOT EXISTS daily_closes (
    symbol      TEXT    NOT NULL CHECK (symbol ~ '^[A-Z][A-Z0-9.\-]{0,15}$'),
    trade_date  DATE    NOT NULL,
    close_raw   BIGINT  NOT NULL CHECK (close_raw > 0),
    source      TEXT    NOT NULL DEFAULT 'synthetic',  -- 'synthetic', 'csv:<file>', ...
    PRIMARY KEY (symbol, trade_date)
);

-- Range queries by date across many symbols (benchmarks, correlation matrices).
CREATE INDEX IF NOT EXISTS daily_closes_date_idx ON daily_closes (trade_date, symbol);

-- The benchmark index (index points as raw fixed point), one row per trading day.
CREATE TABLE IF NOT EXISTS benchmark_levels (
    benchmark   TEXT    NOT NULL,
    trade_date  DATE    NOT NULL,
    level_raw   BIGINT  NOT NULL CHECK (level_raw > 0),
    PRIMARY KEY (benchmark, trade_date)
);

-- Optional intraday bars (OHLCV), bar_start in UTC nanoseconds since the epoch.
CREATE TABLE IF NOT EXISTS intraday_bars (
    symbol        TEXT    NOT NULL,
    bar_start_ns  BIGINT  NOT NULL CHECK (bar_start_ns >= 0),
    bar_seconds   INTEGER NOT NULL CHECK (bar_seconds > 0),
    open_raw      BIGINT  NOT NULL CHECK (open_raw > 0),
    high_raw      BIGINT  NOT NULL CHECK (high_raw > 0),
    low_raw       BIGINT  NOT NULL CHECK (low_raw > 0),
    close_raw     BIGINT  NOT NULL CHECK (close_raw > 0),
    volume_raw    BIGINT  NOT NULL DEFAULT 0 CHECK (volume_raw >= 0),
    PRIMARY KEY (symbol, bar_seconds, bar_start_ns),
    CHECK (low_raw <= open_raw AND low_raw <= close_raw AND high_raw >= open_raw
           AND high_raw >= close_raw)
);
