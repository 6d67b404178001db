"""``mirror simulate``: starts in the foreground, prints what to export, stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from assembla_mirror.cli import cli
from assembla_mirror.cli.simulate import parse_faults
from assembla_mirror.errors import ConfigError
from assembla_mirror.simulator import FaultConfig

from .helpers import get

EXPORTED = {
    "ASSEMBLA_API_URL",
    "ASSEMBLA_LEGACY_URL",
    "ASSEMBLA_API_KEY",
    "ASSEMBLA_API_SECRET",
    "ASSEMBLA_USERNAME",
    "ASSEMBLA_PASSWORD",
    "ASSEMBLA_RATE_LIMIT",
    "ASSEMBLA_CLIENT_ID",
    "ASSEMBLA_CLIENT_SECRET",
}


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], dict[str, str], str]]:
    """A running ``python -m assembla_mirror simulate``, its exports and summary line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "assembla_mirror", "simulate", "--scale", "tiny", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    exports: dict[str, str] = {}
    summary = ""
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                exports[name] = value
            elif line.startswith("#"):
                summary = line
                break
        yield process, exports, summary
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_simulate_serves_until_signalled(
    served: tuple[subprocess.Popen[str], dict[str, str], str], stop: signal.Signals
) -> None:
    process, exports, summary = served
    assert set(exports) == EXPORTED
    assert exports["ASSEMBLA_RATE_LIMIT"] == "off"
    assert "2 spaces" in summary
    assert "tickets" in summary
    headers = {
        "X-Api-Key": exports["ASSEMBLA_API_KEY"],
        "X-Api-Secret": exports["ASSEMBLA_API_SECRET"],
    }
    answer = get(f"{exports['ASSEMBLA_API_URL']}/v1/user", headers=headers, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["login"] == exports["ASSEMBLA_USERNAME"]
    process.send_signal(stop)
    assert process.wait(timeout=10) == 0


@pytest.mark.parametrize(
    "args",
    [["--rate-limit", "lots"], ["--scale", "enormous"], ["--faults", "error_500"]],
)
def test_bad_options_are_usage_errors(args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["simulate", *args])
    assert result.exit_code == 2
    assert "Error" in result.output


def test_fault_option_parsing() -> None:
    config = parse_faults("error_500=0.01, drop=0.5,seed=3,slow_seconds=0.5")
    assert config == FaultConfig(error_500=0.01, drop=0.5, seed=3, slow_seconds=0.5)
    assert parse_faults("") == FaultConfig()
    with pytest.raises(ConfigError):
        parse_faults("error_500=often")
