"""``nexus`` command line: ``nexus up`` starts the embedded stack and every service.

``make run`` is ``nexus up``. Each service runs as its own process (``python -m
services.<name>.main``) with the stack's URLs in its environment, exactly as it would run in
production against a real Kafka cluster, PostgreSQL and Redis.

What a person sees: the stack, every service's URL and ``/openapi.json``, a development token
per role (also written to ``<data dir>/tokens.env``), then one status line refreshed every
second (simulated orders/s, trades, open orders, halts, consumer lag, alerts, routed orders).
Each service logs (JSON lines) to ``<data dir>/logs/<service>.log``; ``--verbose`` sends the
logs to the console instead, as before. A service that exits is restarted with exponential
backoff (shown on the status line); the stack keeps running. ``nexus up`` refuses to start
when a service's port is taken, and a service counts as up only once its ``/healthz`` answers
with its own name. Ctrl-C (or SIGTERM) stops the simulator (printing its summary), then the
services, then the stack.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from nexus.config import SERVICE_PORTS, Settings, load_settings
from nexus.infra import InfraError, Stack, port_in_use, start_stack, wait_for_health

#: Start order: the platform first, then the services that consume it.
SERVICE_ORDER = (
    "risk",
    "matching",
    "orders",
    "marketdata",
    "analytics",
    "surveillance",
    "routing",
    "dashboard",
)
#: Simulated external exchanges (``services.venues``): maker-taker, inverted, slower.
VENUES = ("ALPHA", "BRAVO", "CHARLIE")
#: Development tokens printed at start: (role, subject). The trader is a simulated user.
DEV_TOKENS = (
    ("admin", "ops"),
    ("trader", "U00045"),  # the simulated flow's busiest user (seed 1)
    ("risk", "risk-desk"),
    ("compliance", "compliance-desk"),
    ("service", "dev-service"),
)
TOKEN_TTL_S = 86_400
#: Restart backoff: first delay, cap, and how long a process must live to reset it.
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
BACKOFF_RESET_S = 60.0
#: Symbols the simulator trades (``SIM0000``..): the books the status line counts.
SIM_SYMBOLS = 8
DEFAULT_RATE = 300.0
#: Parents per second the simulated customers send through the router (``--route-rate``).
DEFAULT_ROUTE_RATE = 1.0
#: Pages of 500 the status line reads to count alerts or routed orders.
COUNT_PAGES = 4


def available_services() -> list[str]:
    """Services that exist in this checkout (have a ``main`` module)."""
    found = []
    for name in SERVICE_ORDER:
        try:
            if importlib.util.find_spec(f"services.{name}.main") is not None:
                found.append(name)
        except ModuleNotFoundError:
            continue
    return found


def _service_env(settings: Settings, stack: Stack) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NEXUS_KAFKA_BOOTSTRAP=stack.kafka_bootstrap,
        NEXUS_PG_DSN=stack.pg_dsn,
        NEXUS_REDIS_URL=stack.redis_url,
        NEXUS_HOST=settings.host,
    )
    return env


@dataclass
class Supervised:
    """One child process that ``nexus up`` keeps running (restarted with backoff)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path | None
    restart_on_success: bool = True
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff_s: float = BACKOFF_FIRST_S
    restart_at: float | None = None
    last_exit: int | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start (or restart) the process, appending to its log file."""
        if self.log_path is not None:
            if self._log is not None:
                self._log.close()
            self._log = self.log_path.open("ab")
        out = self._log if self._log is not None else None
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            start_new_session=True,  # Ctrl-C reaches nexus up only; it stops children in order
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def pid(self) -> int | None:
        """The running process's id."""
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        """Whether the process is running."""
        return self.proc is not None and self.proc.poll() is None

    def check(self, now: float) -> str | None:
        """Notice an exit and schedule a restart (returns a message); restart when due."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restarts += 1
                self.start()
                return f"{self.name} restarted (restart {self.restarts})"
            return None
        if self.proc is None or self.proc.poll() is None:
            if now - self.started_at > BACKOFF_RESET_S:
                self.backoff_s = BACKOFF_FIRST_S
            return None
        self.last_exit = self.proc.returncode
        if self.last_exit == 0 and not self.restart_on_success:
            self.proc = None
            return f"{self.name} finished"
        self.restart_at = now + self.backoff_s
        message = f"{self.name} exited with {self.last_exit}; restarting in {self.backoff_s:.0f} s"
        self.backoff_s = min(BACKOFF_MAX_S, self.backoff_s * 2)
        return message

    def status(self, now: float) -> str | None:
        """Short text for the status line when the process is not simply running."""
        if self.restart_at is not None:
            return (
                f"{self.name} down (exit {self.last_exit}), retry in {self.restart_at - now:.0f}s"
            )
        if self.restarts:
            return f"{self.name} restarted x{self.restarts}"
        return None

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def taken_ports(settings: Settings, services: Sequence[str]) -> list[tuple[str, int]]:
    """The chosen services whose port something else already listens on."""
    return [(n, settings.port(n)) for n in services if port_in_use(settings.host, settings.port(n))]


def dev_tokens(settings: Settings) -> list[tuple[str, str, str]]:
    """``(role, subject, token)`` of each development token (valid a day)."""
    from nexus.web.auth import Authenticator

    auth = Authenticator(settings)
    return [
        (role, subject, auth.issue_token(subject, [role], ttl_seconds=TOKEN_TTL_S))
        for role, subject in DEV_TOKENS
    ]


def _metric_sum(text: str, name: str) -> float:
    """Sum of every sample of metric ``name`` in a Prometheus text exposition."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name) : len(name) + 1] in ("{", " "):
            try:
                total += float(line.rsplit(" ", 1)[1])
            except (IndexError, ValueError):
                continue
    return total


class StatusProbe:
    """Gathers the status line's figures in a background thread (never blocks supervision)."""

    def __init__(
        self, settings: Settings, services: Sequence[str], status_file: Path, token: str
    ) -> None:
        self._settings = settings
        self._services = list(services)
        self._status_file = status_file
        self._headers = {"Authorization": f"Bearer {token}"}
        self.figures: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="status-probe", daemon=True)

    def start(self) -> None:
        """Probe every second until :meth:`stop`."""
        self._thread.start()

    def stop(self) -> None:
        """Stop probing."""
        self._stop.set()
        self._thread.join(timeout=3)

    def _url(self, service: str) -> str:
        return f"http://{self._settings.host}:{self._settings.port(service)}"

    def _run(self) -> None:
        import httpx

        with httpx.Client(timeout=0.8, headers=self._headers) as http:
            while not self._stop.is_set():
                self.figures = self.probe(http)
                self._stop.wait(1.0)

    def probe(self, http: Any) -> dict[str, Any]:
        """One reading of every figure (``None`` where its source is absent or down)."""
        out: dict[str, Any] = {"sim_rate": None, "trades": None, "open_orders": None}
        try:
            sim = json.loads(self._status_file.read_text())
            out["sim_rate"] = sim.get("orders_per_s")
            out["trades"] = sim.get("trades")
            out["episodes"] = sum((sim.get("episodes") or {}).values())
        except (OSError, ValueError):
            pass
        if "matching" in self._services:
            try:
                total = 0
                for i in range(SIM_SYMBOLS):
                    book = http.get(
                        f"{self._url('matching')}/books/SIM{i:04d}", params={"depth": 1000}
                    ).json()
                    total += sum(lv["orders"] for lv in book["bids"] + book["asks"])
                out["open_orders"] = total
            except Exception:  # a probe may fail in any way while a service restarts
                out["open_orders"] = None
        if "risk" in self._services:
            try:
                out["halts"] = len(http.get(f"{self._url('risk')}/halts").json())
            except Exception:
                out["halts"] = None
        lag = 0.0
        seen = False
        for name in self._services:
            try:
                text = http.get(f"{self._url(name)}/metrics").text
            except Exception:
                continue
            seen = True
            lag += _metric_sum(text, "nexus_consumer_lag")
        out["lag"] = int(lag) if seen else None
        out["alerts"] = (
            self._count(http, "surveillance", "/alerts")
            if "surveillance" in self._services
            else None
        )
        out["routed"] = (
            self._count(http, "routing", "/orders") if "routing" in self._services else None
        )
        return out

    def _count(self, http: Any, service: str, path: str) -> str | None:
        """Items of a listing (pages followed up to ``COUNT_PAGES``; ``N+`` beyond)."""
        total, cursor = 0, None
        try:
            for _ in range(COUNT_PAGES):
                params: dict[str, Any] = {"limit": 500}
                if cursor:
                    params["cursor"] = cursor
                body = http.get(f"{self._url(service)}{path}", params=params).json()
                if isinstance(body, list):  # one capped page: a full page means "at least"
                    return f"{len(body)}+" if len(body) >= params["limit"] else str(len(body))
                total += len(body["items"])
                cursor = body.get("next_cursor")
                if not cursor:
                    return str(total)
            return f"{total}+"
        except Exception:  # absent, restarting, or not listing: the figure is left out
            return None


def status_line(figures: dict[str, Any], procs: Sequence[Supervised], now: float) -> str:
    """The one-line summary refreshed every second."""

    def show(value: Any, fmt: str = "{}") -> str:
        return "-" if value is None else fmt.format(value)

    parts = [
        time.strftime("%H:%M:%S"),
        f"sim {show(figures.get('sim_rate'), '{:.0f}')} orders/s",
        f"trades {show(figures.get('trades'))}",
        f"open orders {show(figures.get('open_orders'))}",
        f"halts {show(figures.get('halts'))}",
        f"lag {show(figures.get('lag'))}",
    ]
    if figures.get("alerts") is not None:
        parts.append(f"alerts {figures['alerts']}")
    if figures.get("routed") is not None:
        parts.append(f"routed orders {figures['routed']}")
    troubles = [s for p in procs if (s := p.status(now)) is not None]
    return " | ".join(parts + troubles)


def _write_state(path: Path, procs: Sequence[Supervised]) -> None:
    """``{name: pid}`` of the running children (for operators and tests)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({p.name: p.pid for p in procs if p.alive()}))
    tmp.replace(path)


def up(
    services: Sequence[str] | None = None,
    *,
    simulate: bool = True,
    once: bool = False,
    verbose: bool = False,
    rate: float = DEFAULT_RATE,
    route_rate: float = DEFAULT_ROUTE_RATE,
) -> int:
    """Start the stack and the services; block until Ctrl-C (or just check, with ``once``)."""
    settings = load_settings()
    chosen = list(services) if services else available_services()
    unknown = [n for n in chosen if n not in SERVICE_PORTS]
    if unknown:
        print(f"unknown service(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    missing = [n for n in chosen if n not in available_services()]
    if missing:
        print(f"not in this checkout yet: {', '.join(missing)}", file=sys.stderr)
        return 2
    taken = taken_ports(settings, chosen)
    if taken:
        for name, port in taken:
            print(
                f"port {port} ({name}) is taken by another process: stop it, or set "
                f"NEXUS_{name.upper()}_PORT",
                file=sys.stderr,
            )
        return 2
    data = Path(settings.data_dir)
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (data / "sim").mkdir(parents=True, exist_ok=True)
    stop = {"requested": False}

    def request_stop(_signum: int, _frame: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print("starting the stack (broker, PostgreSQL, Redis) ...", flush=True)
    stack = start_stack(settings, workdir=str(data / "stack"))
    for name, where in stack.describe().items():
        print(f"  {name:<9} {where}", flush=True)
    env = _service_env(settings, stack)
    procs: list[Supervised] = []
    sim: Supervised | None = None
    status_file = data / "sim" / "status.json"

    def log_of(name: str) -> Path | None:
        return None if verbose else logs / f"{name.replace(' ', '-')}.log"

    try:
        print("starting services ...", flush=True)
        for name in chosen:
            proc = Supervised(
                name, [sys.executable, "-m", f"services.{name}.main"], env, log_of(name)
            )
            proc.start()
            procs.append(proc)
        for proc in procs:
            url = f"http://{settings.host}:{settings.port(proc.name)}"
            try:
                wait_for_health(url, proc.name, timeout_s=90, alive=proc.alive)
            except InfraError as exc:
                where = f"; see {proc.log_path}" if proc.log_path else ""
                print(f"{proc.name} did not start: {exc}{where}", file=sys.stderr, flush=True)
                return 1
        if "routing" in chosen and importlib.util.find_spec("services.venues.main") is not None:
            for venue in VENUES:  # they announce their FIX endpoints; the router connects
                proc = Supervised(
                    f"venue {venue}",
                    [sys.executable, "-m", "services.venues.main", "--venue", venue],
                    env,
                    log_of(f"venue-{venue}"),
                )
                proc.start()
                procs.append(proc)
        if simulate:
            status_file.unlink(missing_ok=True)
            sim = _simulator(settings, chosen, env, log_of("simulator"), data, rate)
            sim.start()
            procs.append(sim)
            if "routing" in chosen and route_rate > 0:
                routed = _routed_flow(settings, env, log_of("routed-flow"), data, route_rate)
                routed.start()
                procs.append(routed)
        _print_endpoints(settings, chosen, sim, data)
        _write_state(data / "pids.json", procs)
        if once:
            return 0
        return _watch(settings, chosen, procs, status_file, stop, verbose, data)
    finally:
        print("\nstopping ...", flush=True)
        if sim is not None:
            sim.stop(timeout_s=10)
            _print_sim_summary(status_file)
        for proc in reversed(procs):
            proc.stop()
        print("stopping the stack ...", flush=True)
        stack.stop()


def _simulator(
    settings: Settings,
    chosen: Sequence[str],
    env: dict[str, str],
    log_path: Path | None,
    data: Path,
    rate: float,
) -> Supervised:
    status = str(data / "sim" / "status.json")
    labels = str(data / "sim" / "labels.jsonl")
    if "matching" in chosen:
        argv = [
            sys.executable,
            "-m",
            "nexus.sim.feed",
            "--matching-url",
            f"http://{settings.host}:{settings.port('matching')}",
            "--rate",
            str(rate),
            "--symbols",
            str(SIM_SYMBOLS),
            "--status-file",
            status,
            "--labels",
            labels,
        ]
        if "marketdata" in chosen:
            argv += ["--marketdata-url", f"http://{settings.host}:{settings.port('marketdata')}"]
    else:
        # No matching service: the simulator's own matched flow goes straight to the bus.
        argv = [sys.executable, "-m", "services.marketdata.feed", "--labels-dir", str(data / "sim")]
    return Supervised("simulator", argv, env, log_path, restart_on_success=False)


def _routed_flow(
    settings: Settings, env: dict[str, str], log_path: Path | None, data: Path, rate: float
) -> Supervised:
    """Simulated customers sending parent orders through the router (``nexus.sim.routed``)."""
    argv = [
        sys.executable,
        "-m",
        "nexus.sim.routed",
        "--routing-url",
        f"http://{settings.host}:{settings.port('routing')}",
        "--rate",
        str(rate),
        "--symbols",
        str(SIM_SYMBOLS),
        "--status-file",
        str(data / "sim" / "routed.json"),
    ]
    return Supervised("routed flow", argv, env, log_path, restart_on_success=False)


def _print_endpoints(
    settings: Settings, chosen: Sequence[str], sim: Supervised | None, data: Path
) -> None:
    print("\nNexusTrade is up:", flush=True)
    for name in chosen:
        url = f"http://{settings.host}:{settings.port(name)}"
        print(f"  {name:<13} {url}  (API: {url}/openapi.json, health: {url}/healthz)", flush=True)
    if sim is not None:
        target = "the matching service" if "matching" in chosen else "the bus"
        print(f"  simulator     feeding {target} (labels: {data / 'sim' / 'labels.jsonl'})")
    tokens = dev_tokens(settings)
    env_file = data / "tokens.env"
    env_file.write_text(
        "".join(f"export {role.upper()}_TOKEN={token}\n" for role, _, token in tokens)
    )
    print(f"\nDevelopment tokens (valid 24 h; also in {env_file}, `. {env_file}`):", flush=True)
    for role, subject, token in tokens:
        print(f"  export {role.upper()}_TOKEN={token}   # {role} {subject}", flush=True)
    print(f"\nLogs: {data / 'logs'}/<service>.log", flush=True)


def _watch(
    settings: Settings,
    chosen: Sequence[str],
    procs: list[Supervised],
    status_file: Path,
    stop: dict[str, bool],
    verbose: bool,
    data: Path,
) -> int:
    """Supervise (restart what exits) and show the status line until a stop is requested."""
    admin = dev_tokens(settings)[0][2]
    probe = StatusProbe(settings, chosen, status_file, admin)
    tty = sys.stdout.isatty()
    if not verbose:
        probe.start()
    print("\nCtrl-C stops everything.\n", flush=True)
    last_plain = 0.0

    def say(text: str) -> None:
        print(("\r\033[K" if tty else "") + text, flush=True)

    try:
        while not stop["requested"]:
            now = time.monotonic()
            changed = False
            for proc in procs:
                message = proc.check(now)
                if message is not None:
                    say(message)
                    changed = True
            if changed:
                _write_state(data / "pids.json", procs)
            if not verbose:
                line = status_line(probe.figures, procs, now)
                if tty:
                    print("\r\033[K" + line, end="", flush=True)
                elif now - last_plain >= 5.0:
                    print(line, flush=True)
                    last_plain = now
            time.sleep(0.25 if not tty else 1.0)
        return 0
    finally:
        probe.stop()


def _print_sim_summary(status_file: Path) -> None:
    try:
        sim = json.loads(status_file.read_text())
    except (OSError, ValueError):
        return
    episodes = sim.get("episodes") or {}
    kinds = ", ".join(f"{k.lower()} {v}" for k, v in sorted(episodes.items())) or "none"
    print(
        f"simulator: {sim.get('sent', 0)} actions in {sim.get('elapsed_s')} s "
        f"({sim.get('mean_orders_per_s')}/s), {sim.get('trades', 0)} trades, "
        f"answers {sim.get('outcome')}",
        flush=True,
    )
    print(
        f"simulator: {sum(episodes.values())} episodes injected ({kinds}) in "
        f"{sim.get('windows', 0)} windows; labels: {sim.get('labels')}",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nexus`` command."""
    parser = argparse.ArgumentParser(prog="nexus", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up_cmd = sub.add_parser("up", help="start the embedded stack and every service")
    up_cmd.add_argument(
        "services", nargs="*", help=f"only these of {', '.join(available_services())}"
    )
    up_cmd.add_argument("--no-sim", action="store_true", help="do not run the order-flow simulator")
    up_cmd.add_argument("--check", action="store_true", help="start, print, then stop (smoke test)")
    up_cmd.add_argument(
        "--verbose", action="store_true", help="service logs on the console, no status line"
    )
    up_cmd.add_argument(
        "--rate", type=float, default=DEFAULT_RATE, help="simulated actions per second"
    )
    up_cmd.add_argument(
        "--route-rate",
        type=float,
        default=DEFAULT_ROUTE_RATE,
        help="parent orders per second sent through the router (0: none)",
    )
    sub.add_parser("services", help="list the services that exist")
    args = parser.parse_args(argv)
    if args.command == "services":
        print("\n".join(available_services()))
        return 0
    return up(
        args.services,
        simulate=not args.no_sim,
        once=args.check,
        verbose=args.verbose,
        rate=args.rate,
        route_rate=args.route_rate,
    )


if __name__ == "__main__":
    sys.exit(main())
