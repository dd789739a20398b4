-- A version per symbol's close history, bumped by every load that changes it, so each service
-- instance can keep the history in memory and reload a symbol only when its version moved.
CREATE TABLE price_versions (
    symbol  TEXT   PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO price_versions (symbol, version) SELECT DISTINCT symbol, 1 FROM prices;
