"""`mirror get` and `mirror auth` through click's CliRunner against the simulator."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from assembla_mirror.api.credentials import config_path, read_credentials_file
from assembla_mirror.cli import cli
from assembla_mirror.simulator import Simulator, World
from tests.api.simulated import (
    everything_secret,
    foreign_space,
    new_world,
    serving,
    settled_log,
    ticket_space,
)


@pytest.fixture
def world() -> World:
    return new_world()


@pytest.fixture
def sim(world: World) -> Iterator[Simulator]:
    with serving(world) as running:
        yield running


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def url_options(sim: Simulator) -> list[str]:
    return ["--api-url", sim.api_url, "--legacy-url", sim.legacy_url, "--rate-limit", "off"]


@pytest.fixture
def key_env(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    creds = sim.credentials
    monkeypatch.setenv("ASSEMBLA_API_KEY", creds.api_key)
    monkeypatch.setenv("ASSEMBLA_API_SECRET", creds.api_secret)
    monkeypatch.setenv("ASSEMBLA_USERNAME", creds.username)
    monkeypatch.setenv("ASSEMBLA_PASSWORD", creds.password)


def assert_clean(text: str, sim: Simulator) -> None:
    for secret in everything_secret(sim):
        assert secret not in text


# -- mirror get ------------------------------------------------------------------------------


def test_get_prints_pretty_json(
    runner: CliRunner, sim: Simulator, world: World, key_env: None
) -> None:
    result = runner.invoke(cli, ["get", "user", *url_options(sim)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["login"] == world.primary_user.login
    assert result.stdout.startswith("{\n  ")
    assert_clean(result.output, sim)


def test_get_all_follows_pages_into_one_array(
    runner: CliRunner, sim: Simulator, world: World, key_env: None
) -> None:
    space_id = ticket_space(world)
    for _ in range(120):
        world.add_ticket(space_id, summary="more")
    args = ["get", f"spaces/{space_id}/tickets", "-p", "report=0", "--all", *url_options(sim)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    expected = {t.id for t in world.state.require_space(space_id).tickets.values()}
    assert {item["id"] for item in items} == expected
    assert len(items) > 100


def test_get_list_params_repeat(
    runner: CliRunner, sim: Simulator, world: World, key_env: None
) -> None:
    spaces = [s.id for s in world.spaces_of()]
    args = ["get", "tasks", *[arg for s in spaces for arg in ("-p", f"spaces[]={s}")]]
    result = runner.invoke(cli, [*args, *url_options(sim)])
    assert result.exit_code == 0, result.output
    assert settled_log(sim, 1)[-1].query["spaces[]"] == spaces


def test_get_legacy_prints_xml(
    runner: CliRunner, sim: Simulator, world: World, key_env: None
) -> None:
    caller = world.primary_user.id
    task_id = next(t for t, task in world.state.tasks.items() if task.user_id == caller)
    path = f"user/time_entries/{task_id}/time_logs"
    result = runner.invoke(cli, ["get", "--legacy", path, *url_options(sim)])
    assert result.exit_code == 0, result.output
    assert "<time-logs" in result.stdout


def test_get_errors_are_one_clean_line(
    runner: CliRunner, sim: Simulator, world: World, key_env: None
) -> None:
    result = runner.invoke(cli, ["get", f"spaces/{foreign_space(world)}", *url_options(sim)])
    assert result.exit_code == 1
    assert "forbidden" in result.output
    assert "Traceback" not in result.output
    assert_clean(result.output, sim)


def test_get_without_credentials(runner: CliRunner, sim: Simulator) -> None:
    result = runner.invoke(cli, ["get", "user", *url_options(sim)])
    assert result.exit_code == 1
    assert "ASSEMBLA_API_KEY" in result.output
    assert "mirror auth" in result.output


def test_get_rejects_a_bad_param_and_legacy_all(
    runner: CliRunner, sim: Simulator, key_env: None
) -> None:
    assert runner.invoke(cli, ["get", "user", "-p", "novalue", *url_options(sim)]).exit_code == 2
    result = runner.invoke(cli, ["get", "--legacy", "--all", "x", *url_options(sim)])
    assert result.exit_code == 2


def test_no_command_accepts_secrets_as_options(runner: CliRunner) -> None:
    for command in ("get", "auth"):
        help_text = runner.invoke(cli, [command, "--help"]).output
        for word in ("--key", "--secret", "--token", "--password"):
            assert word not in help_text


# -- mirror auth -----------------------------------------------------------------------------


def test_auth_with_a_key_pair_verifies_and_saves_0600(
    runner: CliRunner, sim: Simulator, world: World
) -> None:
    creds = sim.credentials
    result = runner.invoke(
        cli, ["auth", *url_options(sim)], input=f"{creds.api_key}\n{creds.api_secret}\n"
    )
    assert result.exit_code == 0, result.output
    assert f"Authenticated as {world.primary_user.login}" in result.output
    path = config_path()
    assert str(path) in result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read_credentials_file(path) == {"api_key": creds.api_key, "api_secret": creds.api_secret}
    assert_clean(result.output, sim)
    # ... and a later command uses the file.
    result = runner.invoke(cli, ["get", "user", *url_options(sim)])
    assert result.exit_code == 0, result.output


def test_auth_with_a_wrong_key_saves_nothing(runner: CliRunner, sim: Simulator) -> None:
    result = runner.invoke(cli, ["auth", *url_options(sim)], input="wrong-key\nwrong-secret\n")
    assert result.exit_code == 1
    assert "rejected" in result.output
    assert "wrong-secret" not in result.output
    assert not config_path().exists()


def test_auth_with_a_pin_stores_refreshable_tokens(
    runner: CliRunner, sim: Simulator, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = sim.credentials
    monkeypatch.setenv("ASSEMBLA_CLIENT_ID", creds.client_id)
    monkeypatch.setenv("ASSEMBLA_CLIENT_SECRET", creds.client_secret)
    pin = sim.issue_pin()
    result = runner.invoke(cli, ["auth", "--pin", *url_options(sim)], input=f"{pin}\n")
    assert result.exit_code == 0, result.output
    assert f"{sim.api_url}/authorization?client_id={creds.client_id}" in result.output
    assert "response_type=pin_code" in result.output
    assert f"Authenticated as {world.primary_user.login}" in result.output
    stored = read_credentials_file(config_path())
    assert set(stored) == {"access_token", "refresh_token", "client_id", "client_secret"}
    assert_clean(result.output, sim)
    for token in (stored["access_token"], stored["refresh_token"]):
        assert token not in result.output
    # A later run whose token expired refreshes it and stores the new one.
    monkeypatch.delenv("ASSEMBLA_CLIENT_ID")
    monkeypatch.delenv("ASSEMBLA_CLIENT_SECRET")
    sim.expire_access_tokens()
    result = runner.invoke(cli, ["get", "user", *url_options(sim)])
    assert result.exit_code == 0, result.output
    assert read_credentials_file(config_path())["access_token"] != stored["access_token"]


def test_auth_pin_prompts_for_the_client_when_not_in_the_environment(
    runner: CliRunner, sim: Simulator
) -> None:
    creds = sim.credentials
    pin = sim.issue_pin()
    answers = f"{creds.client_id}\n{creds.client_secret}\n{pin}\n"
    result = runner.invoke(cli, ["auth", "--pin", *url_options(sim)], input=answers)
    assert result.exit_code == 0, result.output
    assert creds.client_secret not in result.output
    assert read_credentials_file(config_path())["client_id"] == creds.client_id


def test_auth_with_a_bad_pin(
    runner: CliRunner, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = sim.credentials
    monkeypatch.setenv("ASSEMBLA_CLIENT_ID", creds.client_id)
    monkeypatch.setenv("ASSEMBLA_CLIENT_SECRET", creds.client_secret)
    result = runner.invoke(cli, ["auth", "--pin", *url_options(sim)], input="000000\n")
    assert result.exit_code == 1
    assert "PIN" in result.output
    assert not config_path().exists()


def test_auth_legacy_login_is_stored_too(runner: CliRunner, sim: Simulator) -> None:
    creds = sim.credentials
    answers = f"{creds.api_key}\n{creds.api_secret}\n{creds.username}\n{creds.password}\n"
    result = runner.invoke(cli, ["auth", "--legacy-login", *url_options(sim)], input=answers)
    assert result.exit_code == 0, result.output
    stored = read_credentials_file(config_path())
    assert (stored["username"], stored["password"]) == (creds.username, creds.password)
    assert creds.password not in result.output


def test_auth_status_shows_sources_masked(
    runner: CliRunner, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = sim.credentials
    runner.invoke(cli, ["auth", *url_options(sim)], input=f"{creds.api_key}\n{creds.api_secret}\n")
    monkeypatch.setenv("ASSEMBLA_USERNAME", creds.username)
    monkeypatch.setenv("ASSEMBLA_PASSWORD", creds.password)
    result = runner.invoke(cli, ["auth", "--status"])
    assert result.exit_code == 0, result.output
    lines = {
        line.split()[0]: line.split()[1:]
        for line in result.output.splitlines()
        if line.startswith("  ")
    }
    assert lines["ASSEMBLA_API_KEY"][0] == "file"
    assert lines["ASSEMBLA_USERNAME"] == ["env", creds.username]
    assert lines["ASSEMBLA_ACCESS_TOKEN"][0] == "none"
    assert "(mode 0600)" in result.output
    assert_clean(result.output, sim)


def test_auth_refuses_to_read_a_world_readable_file(runner: CliRunner, sim: Simulator) -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text('{"api_key": "k", "api_secret": "s"}')
    path.chmod(0o644)
    result = runner.invoke(cli, ["get", "user", *url_options(sim)])
    assert result.exit_code == 1
    assert f"chmod 600 {path}" in result.output
