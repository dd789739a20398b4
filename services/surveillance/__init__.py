"""Market surveillance: detects spoofing, layering, wash trading and momentum ignition.

The domain lives in :mod:`services.surveillance.core` (pure, no I/O); the adapters (Kafka
consumer, PostgreSQL store, REST) sit around it; ``python -m services.surveillance scan`` scans
an audit-trail JSON-lines file with the same engine.
"""
