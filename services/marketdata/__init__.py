"""Market data service: venue quote streams, price history and synthetic history."""
