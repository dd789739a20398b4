"""NexusTrade platform library: money, events, bus, web chassis, clients, storage, infra."""

__version__ = "0.1.0"
