"""What the commands print in a real terminal 80 columns wide (tmux), on both backends.

Each test starts a detached tmux server of its own (a private socket) with one
pane of 80 columns, runs the installed ``mirror`` command in it against the
simulator over loopback, and reads the screen back with ``capture-pane -J``:
rows the terminal wrapped are joined again, so a line that ran past the edge
comes back longer than 80 columns, and a word the edge split comes back whole
only in a line too long. A sync is watched while it runs: its overall line must
show the percentage and the ETA.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from assembla_mirror.simulator import Simulator
from assembla_mirror.sync.engine import TIME_LOGS_SKIPPED

#: Set to 1 (CI does) to make a missing tmux fail these tests rather than skip them.
REQUIRE_ENV = "MIRROR_REQUIRE_TERMINAL"


@pytest.fixture(autouse=True)
def _tmux_installed() -> None:
    """Skip without tmux, saying how to get it; fail instead where it is required."""
    if shutil.which("tmux") is None:
        reason = "tmux is not installed; install it with: apt-get install tmux"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{reason} ({REQUIRE_ENV}=1)")
        pytest.skip(reason)


COLUMNS = 80
#: Printed by the pane's script once the commands are done.
DONE = "__terminal_test_done__"
MIRROR = str(Path(sys.executable).parent / "mirror")
#: Pacing that stretches a first sync of the small account over several seconds, so
#: the overall line is seen with its ETA (the rate limit is what makes a sync long).
PACED = "3000/50"


def columns(text: str) -> int:
    """Terminal columns of ``text`` (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


class Pane:
    """A tmux server on a private socket, its windows 80 columns wide."""

    def __init__(self, socket: str) -> None:
        self.socket = socket
        self.windows = 0

    def tmux(self, *args: str) -> str:
        """Run a tmux command on this server; its output."""
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True)
        if done.returncode != 0:  # not an AssertionError: the xfail below expects only those
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr}")
        return done.stdout

    def screen(self, window: str) -> list[str]:
        """Every line of a window, its history included, wrapped rows joined."""
        text = self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", window)
        return [line.rstrip() for line in text.split("\n")]

    def run(self, script: Path, timeout: float = 120.0, watch: float = 0.2) -> list[list[str]]:
        """Run ``script`` in a window of its own (nothing of an earlier command on its
        screen); the screens seen while it ran, the last one final."""
        self.windows += 1
        name = f"w{self.windows}"
        window = f"main:{name}"
        self.tmux("new-window", "-d", "-t", "main:", "-n", name, f"bash {shlex.quote(str(script))}")
        assert self.tmux("display", "-p", "-t", window, "#{window_width}").strip() == "80"
        frames: list[list[str]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frames.append(self.screen(window))
            if any(DONE in line for line in frames[-1]):
                return frames
            time.sleep(watch)
        raise AssertionError("the commands did not finish:\n" + "\n".join(frames[-1]))


@contextmanager
def terminal() -> Iterator[Pane]:
    """A detached tmux server whose windows are 80 by 50, killed whatever happens."""
    pane = Pane(f"mirror-test-{uuid.uuid4().hex[:12]}")
    try:
        size = ("-x", str(COLUMNS), "-y", "50")
        # The first window only keeps the server up; each command gets a window of its own.
        pane.tmux("-f", "/dev/null", "new-session", "-d", "-s", "main", *size, "sleep 3600")
        pane.tmux("set-option", "-g", "history-limit", "10000")
        pane.tmux("set-option", "-g", "remain-on-exit", "on")
        yield pane
    finally:
        subprocess.run(["tmux", "-L", pane.socket, "kill-server"], capture_output=True)


def script(tmp_path: Path, sim: Simulator, *commands: list[str]) -> Path:
    """A shell script running ``commands`` (each a ``mirror`` command's arguments) with the
    simulator's settings, and printing :data:`DONE` at the end."""
    creds = sim.credentials
    env = {
        "ASSEMBLA_API_URL": sim.api_url,
        "ASSEMBLA_LEGACY_URL": sim.legacy_url,
        "ASSEMBLA_API_KEY": creds.api_key,
        "ASSEMBLA_API_SECRET": creds.api_secret,
        "ASSEMBLA_MIRROR_CONFIG": str(tmp_path / "config" / "credentials.json"),
        "TERM": "screen",
    }
    lines = ["unset COLUMNS LINES ASSEMBLA_USERNAME ASSEMBLA_PASSWORD", f"cd {tmp_path}"]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in env.items()]
    lines += [shlex.join([MIRROR, *command]) for command in commands]
    lines.append(f"echo {DONE}")
    path = tmp_path / f"commands-{uuid.uuid4().hex[:8]}.sh"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def too_wide(lines: list[str]) -> list[str]:
    """The lines that ran past the terminal's edge."""
    return [line for line in lines if columns(line) > COLUMNS]


def note_text(lines: list[str], start: str) -> str:
    """A note as the screen shows it, its lines joined again by one space each."""
    first = next(i for i, line in enumerate(lines) if line.startswith(f"Note: {start}"))
    parts = [lines[first].removeprefix("Note: ")]
    for line in lines[first + 1 :]:
        if not line.startswith("      ") or not line.strip():
            break
        parts.append(line.strip())
    return " ".join(parts)


def test_a_first_sync_shows_its_overall_progress_and_fits_80_columns(
    sim: Simulator, mirror_db: str, tmp_path: Path
) -> None:
    """On each backend: the first sync's overall line (percentage, then the ETA), its
    notes wrapped between words and shown once, the summary printed once; then the
    status and the reports read from that mirror, every line within 80 columns."""
    # The pane works in tmp_path: a file's name is what a user would type there (a long
    # path is one word, which no wrapping can shorten).
    mirror_db = Path(mirror_db).name if mirror_db.startswith(str(tmp_path)) else mirror_db
    sync = ["sync", "--db", mirror_db, "--with", "comments", "--yes", "--rate-limit", PACED]
    reads = [
        ["status", "--db", mirror_db],
        ["report", "hours", "--db", mirror_db, "--by", "ticket"],
        ["report", "hours", "--db", mirror_db, "--by", "user,month"],
        ["report", "tickets", "--db", mirror_db, "--by", "assignee"],
        ["report", "flow", "--db", mirror_db],
        ["report", "cycle-time", "--db", mirror_db, "--by", "milestone"],
        ["report", "ticket", "--db", mirror_db, "--space", "Big Project", "55"],
        # the day the simulated account is busiest on: its events run up to now
        ["report", "activity", "--db", mirror_db, "--tz", "UTC"],
    ]
    with terminal() as pane:
        frames = pane.run(script(tmp_path, sim, sync))
        final = frames[-1]
        # While it ran: the overall line with a percentage and the time left.
        overall = [line for frame in frames for line in frame if "overall" in line]
        assert any("% · ~" in line and " left · " in line for line in overall), overall
        done = " ✓ overall 100% · " + final_requests(final)
        assert sum(line.startswith(done) for line in final) == 1, final
        assert too_wide(final) == []
        # The summary once, the note of the skipped time logs once and whole.
        assert sum(line.startswith("Synced 4 space(s)") for line in final) == 1, final
        assert sum(line.startswith("Note: time logs skipped") for line in final) == 1, final
        assert note_text(final, "time logs skipped") == TIME_LOGS_SKIPPED
        assert sum(line.startswith("table ") for line in final) == 1

        for command in reads:
            screen = pane.run(script(tmp_path, sim, command))[-1]
            shown = [line for line in screen if line.strip() and DONE not in line]
            assert shown, command
            assert not any(line.startswith(("Error", "Usage")) for line in shown), shown
            assert too_wide(screen) == [], command


def test_an_error_is_wrapped_between_words(sim: Simulator, tmp_path: Path) -> None:
    # A chart file without a suffix: the error names both ways out, 130 characters.
    chart = ["report", "tickets", "--db", "m.db", "--chart", "open-tickets"]
    with terminal() as pane:
        screen = pane.run(
            script(tmp_path, sim, ["sync", "--db", "m.db", "--only", "users"], chart)
        )[-1]
    errors = [i for i, line in enumerate(screen) if line.startswith("Error: ")]
    assert len(errors) == 1, screen
    first = errors[0]
    message = [screen[first], *(line for line in screen[first + 1 :] if line.startswith(" " * 7))]
    assert len(message) > 1  # too long for one line: wrapped
    assert too_wide(message) == []
    joined = " ".join(line.strip() for line in message)
    assert "name it open-tickets.svg (an image) or open-tickets.html (a page)" in joined


def test_the_status_of_a_postgresql_mirror_fits_80_columns(sim: Simulator, tmp_path: Path) -> None:
    from tests.support import fresh_postgres_mirror

    with fresh_postgres_mirror() as url, terminal() as pane:
        sync = ["sync", "--db", url, "--only", "users", "--rate-limit", "off"]
        screen = pane.run(script(tmp_path, sim, sync, ["status", "--db", url]))[-1]
    assert too_wide(screen) == []
    assert "Mirror of account " + sim.credentials.username in screen


def final_requests(lines: list[str]) -> str:
    """The request count of the summary line (``Synced ... with N requests``)."""
    [summary] = [line for line in lines if line.startswith("Synced ")]
    return summary.split(" with ")[1].split()[0] + " requests in "


def test_the_demo_fits_80_columns_and_prints_each_thing_once(tmp_path: Path) -> None:
    """``mirror demo`` (its own simulator, a SQLite file): no line past the edge, the
    summary and each hint once."""
    demo = tmp_path / "demo.db"
    path = tmp_path / "demo.sh"
    path.write_text(
        f"unset COLUMNS LINES\ncd {tmp_path}\nexport TERM=screen\n"
        f"{shlex.join([MIRROR, 'demo', '--db', demo.name])}\necho {DONE}\n",
        encoding="utf-8",
    )
    with terminal() as pane:
        screen = pane.run(path, timeout=300.0, watch=0.5)[-1]
    assert too_wide(screen) == []
    assert sum(line.startswith("Synced ") for line in screen) == 1, screen
    assert sum("overall 100%" in line for line in screen) == 1, screen
    hints = [line for line in screen if line.strip().startswith(("sqlite3 ", "mirror datasette"))]
    assert len(hints) == len(set(hints)) == 2, screen
