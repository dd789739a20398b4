-- One row per symbol with stored closes: what /symbols lists and what "unknown symbol" checks
-- read, kept by the store after every load so neither scans daily_closes.
-- sector is known for synthetic history only; source is that of the symbol's latest close.

CREATE TABLE IF NOT EXISTS symbols (
    symbol      TEXT    PRIMARY KEY,
    sector      TEXT,
    first_date  DATE    NOT NULL,
    last_date   DATE    NOT NULL,
    closes      INTEGER NOT NULL CHECK (closes > 0),
    source      TEXT    NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (first_date <= last_date)
);
