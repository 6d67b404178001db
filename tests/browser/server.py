"""``mirror datasette`` as the browser tests run it: a subprocess on a free loopback
port, in its own process group, stopped (the whole group) when done; and
:class:`BrowserMirror`, the mirror it serves."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.browser.chromium import signal_group

#: Seconds ``mirror datasette`` gets to answer.
START_TIMEOUT = 60.0
#: Seconds it gets to stop when asked before it is killed.
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class BrowserMirror:
    """The mirror the browser tests look at: its file and what it was synced from."""

    path: Path
    #: The login of the account's caller (the mirror's title names it).
    login: str

    @property
    def database(self) -> str:
        """The name Datasette serves the file under (its name without ``.db``)."""
        return self.path.stem


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(url: str) -> bool:
    """Whether an HTTP server answers at ``url`` (any status)."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started in its own session: SIGTERM to its group, SIGKILL to what
    is left of it after :data:`STOP_TIMEOUT` seconds."""
    if process.poll() is None:
        signal_group(process, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT)
    signal_group(process, signal.SIGKILL)
    process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def serving(db: Path, log: Path, *, attempts: int = 3) -> Iterator[str]:
    """Run ``mirror datasette --db DB`` on a free loopback port until the block ends; its
    base URL. Its output goes to ``log``, quoted when it fails to start. A server that
    exits at once (the port was taken between choosing and binding it, by another
    worker) is retried on another port."""
    mirror = Path(sys.executable).parent / "mirror"
    for attempt in range(1, attempts + 1):
        base = f"http://127.0.0.1:{free_port()}"
        command = [str(mirror), "datasette", "--db", str(db), "--host", "127.0.0.1"]
        with log.open("ab") as out:
            process = subprocess.Popen(
                [*command, "--port", base.rsplit(":", 1)[1]],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while process.poll() is None and time.monotonic() < deadline:
                if answers(f"{base}/-/versions.json"):
                    yield base
                    return
                time.sleep(0.1)
            exited = process.poll() is not None
        finally:
            stop(process)
        if attempt == attempts or not exited:
            output = log.read_text("utf-8", "replace")[-3000:]
            raise AssertionError(
                f"mirror datasette did not answer at {base} within {START_TIMEOUT:g}s "
                f"(exit status {process.returncode}):\n{output}"
            )
    raise AssertionError("unreachable")  # the last attempt returned or raised
