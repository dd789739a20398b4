"""Market surveillance service: detects manipulation in order and trade flow (see docs/ARCHITECTURE.md)."""
