"""The command line under hostile conditions: contradictory or absurd options, dumb and narrow
terminals, an unwritable standard output, a chart path that cannot be written, a deeply nested
API answer. Terminal behaviour is checked in real pseudo-terminals and subprocesses."""

from __future__ import annotations

import fcntl
import io
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from click.testing import CliRunner, Result

from assembla_mirror.api.answers import RawResponse
from assembla_mirror.cli import cli
from assembla_mirror.cli.api import echo_raw
from assembla_mirror.cli.display import PlainProgress, TerminalProgress
from assembla_mirror.simulator import Scale, Simulator, World
from assembla_mirror.sync.engine import TIME_LOGS_SKIPPED

ANSI_ESCAPE = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def mirror(synced_mirror: Path) -> Path:
    """The session's shared synced SQLite mirror (read only): what is tested here is the
    command line's handling of options, terminals and output, whatever the database
    (tests/cli/test_cli_urls.py runs the read commands on PostgreSQL in a terminal)."""
    return synced_mirror


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def assert_usage_error(result: Result, *names: str) -> None:
    """Exit status 2, a one-line message naming ``names``, no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1, result.output
    for name in names:
        assert name in error_lines[0]


# -- 1, 2: contradictory and absurd options --------------------------------------------------


def test_with_and_without_comments_together_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(
        "sync", "--db", str(tmp_path / "m.db"), "--with", "comments", "--without", "comments"
    )
    assert_usage_error(result, "--with comments", "--without comments")


@pytest.mark.parametrize("days", ["inf", "-inf", "nan", "NaN", "1e308", "-1", "36501"])
def test_reconcile_days_must_be_finite_and_at_most_a_century(tmp_path: Path, days: str) -> None:
    result = invoke("sync", "--db", str(tmp_path / "m.db"), f"--reconcile-days={days}")
    assert_usage_error(result, "--reconcile-days")


@pytest.mark.parametrize("days", ["0", "0.5", "36500"])
def test_reconcile_days_in_range_are_accepted(tmp_path: Path, days: str) -> None:
    result = invoke("sync", "--db", str(tmp_path / "m.db"), f"--reconcile-days={days}")
    # Past option parsing: the run stops only for want of credentials.
    assert result.exit_code == 1
    assert "credentials" in result.output


@pytest.mark.parametrize("runs", ["0", "-3", "10001", str(10**20)])
def test_status_runs_must_be_between_1_and_10000(mirror: Path, runs: str) -> None:
    assert_usage_error(invoke("status", "--db", str(mirror), f"--runs={runs}"), "--runs")


@pytest.mark.parametrize("runs", ["1", "10000"])
def test_status_runs_in_range_are_accepted(mirror: Path, runs: str) -> None:
    result = invoke("status", "--db", str(mirror), "--runs", runs)
    assert result.exit_code == 0, result.output


# -- 3, 4: dumb and narrow terminals -----------------------------------------------------------


def in_terminal(
    args: list[str], env: dict[str, str], *, stdout_too: bool = True, columns: int = 80
) -> tuple[int, str, str]:
    """Run ``python -m assembla_mirror ARGS`` with stderr (and stdout) on a pseudo-terminal
    ``columns`` wide. Returns the exit status, what the terminal showed, and the piped stdout."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "assembla_mirror", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave if stdout_too else subprocess.PIPE,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    shown = bytearray()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last holder of the terminal closed it
                break
            if not chunk:
                break
            shown += chunk
        piped = b""
        if process.stdout:
            with process.stdout:
                piped = process.stdout.read()
        status = process.wait(timeout=30)
    finally:
        os.close(master)
        if process.poll() is None:  # hung: do not leave it behind
            process.kill()
            process.wait()
    return status, shown.replace(b"\r\n", b"\n").decode(), piped.decode()


def terminal_env(term: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TERM", "COLUMNS", "LINES")}
    if term is not None:
        env["TERM"] = term
    return env


@pytest.mark.parametrize("term", ["dumb", "", None])
def test_a_dumb_terminal_gets_plain_progress_without_escape_codes(
    tmp_path: Path, term: str | None
) -> None:
    args = ["demo", "--db", str(tmp_path / "demo.db"), "--scale", "tiny"]
    status, shown, _ = in_terminal(args, terminal_env(term))
    assert status == 0, shown
    assert "\x1b" not in shown
    assert "done: tickets" in shown  # one plain line per finished stream
    assert "Synced 2 space(s)" in shown


def test_a_capable_terminal_gets_the_live_display(tmp_path: Path) -> None:
    args = ["demo", "--db", str(tmp_path / "demo.db"), "--scale", "tiny"]
    status, shown, _ = in_terminal(args, terminal_env("xterm"))
    assert status == 0, shown
    assert "\x1b[" in shown


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(World.generate(seed=5, scale=Scale.preset("tiny"))) as sim:
        yield sim


def sync_env(sim: Simulator, term: str) -> dict[str, str]:
    """A key pair but no legacy login: the sync notes, at length, that time logs are skipped."""
    env = terminal_env(term)
    env.update(
        ASSEMBLA_API_URL=sim.api_url,
        ASSEMBLA_LEGACY_URL=sim.legacy_url,
        ASSEMBLA_API_KEY=sim.credentials.api_key,
        ASSEMBLA_API_SECRET=sim.credentials.api_secret,
        ASSEMBLA_RATE_LIMIT="off",
    )
    return env


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("term", ["xterm", "dumb"])
def test_a_long_note_is_wrapped_between_words_and_shown_once(
    simulator: Simulator, tmp_path: Path, term: str
) -> None:
    assert len(TIME_LOGS_SKIPPED) > 100  # longer than the terminal is wide
    args = ["sync", "--db", str(tmp_path / "m.db")]
    status, shown, _ = in_terminal(args, sync_env(simulator, term), columns=80)
    assert status == 0, shown
    text = ANSI_ESCAPE.sub(b"", shown.encode()).decode()
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert flat(text).count(flat(TIME_LOGS_SKIPPED)) == 1, text


def test_a_redirected_summary_keeps_the_notes_the_display_showed(
    simulator: Simulator, tmp_path: Path
) -> None:
    args = ["sync", "--db", str(tmp_path / "m.db")]
    status, shown, piped = in_terminal(args, sync_env(simulator, "xterm"), stdout_too=False)
    assert status == 0, shown
    assert flat(shown).count(flat(TIME_LOGS_SKIPPED)) == 1
    assert f"Note: {TIME_LOGS_SKIPPED}" in piped.splitlines()  # whole, for logs and grep


@pytest.mark.parametrize("display", [TerminalProgress, PlainProgress])
def test_notes_wrap_at_the_width_and_are_remembered(
    monkeypatch: pytest.MonkeyPatch, display: type[TerminalProgress] | type[PlainProgress]
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    out = io.StringIO()
    progress = display(out)
    long_word = "https://example.com/" + "x" * 40
    progress.note(f"{TIME_LOGS_SKIPPED} {long_word}")
    lines = ANSI_ESCAPE.sub(b"", out.getvalue().encode()).decode().splitlines()
    note_lines = [line for line in lines if not line.startswith(" ✓")]
    assert all(len(line) < 40 for line in note_lines if long_word not in line)
    assert long_word in out.getvalue()  # too long for a line, but never cut
    assert flat(out.getvalue()).count(flat(TIME_LOGS_SKIPPED)) == 1
    assert progress.shown_notes == [f"{TIME_LOGS_SKIPPED} {long_word}"]


# -- 5: standard output that cannot be written -------------------------------------------------


def mirror_process(
    args: list[str], stdout: int | IO[str], *, buffered: bool
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if buffered:
        env.pop("PYTHONUNBUFFERED", None)
    else:
        env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "assembla_mirror", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        timeout=60,
    )


OUTPUT_COMMANDS = [
    ["report", "hours"],
    ["report", "hours", "--by", "ticket", "--format", "json"],
    ["status"],
    ["search", "the"],
]


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("command", OUTPUT_COMMANDS, ids=" ".join)
def test_a_full_output_device_is_one_line_and_status_1(
    mirror: Path, command: list[str], buffered: bool
) -> None:
    with open("/dev/full", "w") as full:
        result = mirror_process([*command, "--db", str(mirror)], full, buffered=buffered)
    assert result.returncode == 1
    assert result.stderr == "Error: cannot write the output: No space left on device\n"


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("command", OUTPUT_COMMANDS, ids=" ".join)
def test_a_closed_pipe_ends_quietly(mirror: Path, command: list[str], buffered: bool) -> None:
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before the first line
    try:
        result = mirror_process([*command, "--db", str(mirror)], writer, buffered=buffered)
    finally:
        os.close(writer)
    assert result.returncode == 1
    assert result.stderr == ""


def test_a_reader_that_stops_after_one_line_leaves_no_traceback(mirror: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "assembla_mirror", "status", "--db", str(mirror), "--runs", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    assert process.stdout.readline().startswith(b"Mirror ")
    process.stdout.close()  # as `| head -1` does
    with process.stderr:
        errors = process.stderr.read()
    assert process.wait(timeout=60) in (0, 1)
    assert errors == b""


# -- 6: a chart that cannot be written -------------------------------------------------------


def test_a_chart_in_a_missing_directory_is_refused_up_front(mirror: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing_dir" / "x.svg"
    result = invoke("report", "hours", "--db", str(mirror), "--chart", str(target))
    assert_usage_error(result, str(target.parent), "does not exist")
    assert "Hours" not in result.output  # refused before the report was printed


def test_a_chart_under_a_regular_file_is_refused(mirror: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    target = tmp_path / "file" / "x.svg"
    result = invoke("report", "hours", "--db", str(mirror), "--chart", str(target))
    assert_usage_error(result, str(target.parent), "not a directory")


def test_a_chart_that_fails_to_write_is_a_clear_error(mirror: Path, tmp_path: Path) -> None:
    target = tmp_path / "x.svg"
    target.symlink_to("/dev/full")  # every write fails: ENOSPC
    result = invoke("report", "hours", "--db", str(mirror), "--chart", str(target))
    assert result.exit_code == 1, result.output  # the disk's failure, not a usage error
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1, result.output
    assert str(target) in error_lines[0]
    assert "No space left on device" in error_lines[0]


# -- 9: an API answer nested too deeply to pretty-print -------------------------------------


def test_a_deeply_nested_answer_is_printed_as_received(capsys: pytest.CaptureFixture[str]) -> None:
    body = "[" * 200_000 + "]" * 200_000
    echo_raw(RawResponse(200, "application/json; charset=utf-8", body))
    out, err = capsys.readouterr()
    assert out == body + "\n"
    assert err == "(the body is nested too deeply to pretty-print; shown as received)\n"


def test_a_shallow_answer_is_still_pretty_printed(capsys: pytest.CaptureFixture[str]) -> None:
    echo_raw(RawResponse(200, "application/json", '{"a": [1]}'))
    assert capsys.readouterr().out == '{\n  "a": [\n    1\n  ]\n}\n'


def test_the_demos_hints_fit_80_columns_and_work_from_a_checkout(tmp_path: Path) -> None:
    """What the demo suggests doing next: each line fits a terminal 80 columns wide, and
    the install hint is one that works from a checkout (the package is not on PyPI)."""
    db = tmp_path / "demo.db"
    result = CliRunner().invoke(cli, ["demo", "--db", str(db), "--scale", "tiny"])
    assert result.exit_code == 0, result.output
    hints = result.output.split("Open the mirror yourself:", 1)[1].strip("\n").splitlines()
    shown = [line.replace(str(db), "demo.db") for line in hints]
    assert all(len(line) < 80 for line in shown), shown
    assert "  pip install -e '.[datasette,pandas]'    # once, in the checkout" in shown
    assert "  mirror datasette --db demo.db    # charts: /-/dashboards/assembla" in shown
