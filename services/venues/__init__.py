"""Simulated external exchanges: each its own process, book, participants, fees and FIX acceptor."""
