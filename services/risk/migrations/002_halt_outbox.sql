-- Halt events are published through the nexus outbox (nexus.outbox, table nexus_outbox, made
-- by the service at start): each event's record is enqueued in the transaction that stores it.
-- ``published`` was this table's own outbox flag; events a broker outage left unpublished under
-- it are handed to the outbox at start (HaltStore.prepare), and new events are stored as handed
-- over. The column and its index can go once every database has started with this version.
ALTER TABLE halt_events ALTER COLUMN published SET DEFAULT TRUE;
