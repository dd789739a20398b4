"""``python -m services.surveillance``: command-line tools of the surveillance service.

``scan --events EVENTS.jsonl --accounts ACCOUNTS.json --out ALERTS.jsonl [--workers N]``
scans an audit-trail export (see :mod:`services.surveillance.scan`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from nexus.errors import ValidationError
from services.surveillance.scan import run_scan


def build_parser() -> argparse.ArgumentParser:
    """The CLI's arguments."""
    p = argparse.ArgumentParser(prog="python -m services.surveillance")
    sub = p.add_subparsers(dest="command", required=True)
    scan = sub.add_parser("scan", help="scan an audit-trail JSON-lines file for manipulation")
    scan.add_argument("--events", type=Path, required=True, help="audit JSON lines (by ts_ns)")
    scan.add_argument("--accounts", type=Path, default=None, help="account -> owner JSON map")
    scan.add_argument("--out", type=Path, required=True, help="alerts, one JSON per line")
    scan.add_argument("--workers", type=int, default=1, help="processes (symbols sharded)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 even when some lines were bad)."""
    args = build_parser().parse_args(argv)
    if not args.events.is_file():
        print(f"no such events file: {args.events}", file=sys.stderr)
        return 2
    if args.accounts is not None and not args.accounts.is_file():
        print(f"no such accounts file: {args.accounts}", file=sys.stderr)
        return 2
    try:
        run_scan(args.events, args.accounts, args.out, workers=args.workers)
    except ValidationError as exc:
        print(f"invalid input: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
