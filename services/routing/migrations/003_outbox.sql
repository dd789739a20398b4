-- Routing's events are enqueued in the nexus outbox (nexus.outbox, table nexus_outbox, made by
-- the service at start) in the transaction that stores their rows. ``routing_outbox`` is no
-- longer written: the events it still holds unpublished are handed to the nexus outbox at start
-- (RoutingStore.prepare). The table can go once every database has started with this version.
COMMENT ON TABLE routing_outbox IS 'superseded by nexus_outbox (migration 003); drained at start';
