"""NexusTrade services: one package per service (see DESIGN.md)."""
