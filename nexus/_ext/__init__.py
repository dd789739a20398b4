"""Compiled hot paths (built from ``ext/*.pyx`` by ``setup.py``); import them via ``nexus``."""
