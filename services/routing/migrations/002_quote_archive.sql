-- The recorded market for execution-quality reports (Rule 605 realized spreads, venue
-- markouts): consolidated best bid and offer per symbol over time, raw fixed point (1e9).
-- Written by services/routing/reports_store.py (archive_quotes); read with the NBBO
-- snapshots recorded with decisions, children and fills.
CREATE TABLE routing_quote_archive (
    symbol    TEXT NOT NULL,
    ts_event  BIGINT NOT NULL,
    bid_price BIGINT NOT NULL CHECK (bid_price >= 0),
    ask_price BIGINT NOT NULL CHECK (ask_price >= 0),
    PRIMARY KEY (symbol, ts_event)
);
