"""Authentication: API key/secret, the OAuth PIN flow with sliding expiry, and the legacy host."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from assembla_mirror.simulator import Scale, Simulator, World

from .helpers import connect, get, key_headers, post

TTL = 0.2


@pytest.fixture
def oauth_sim() -> Iterator[Simulator]:
    """A simulator whose access tokens expire after 0.2 idle seconds."""
    with Simulator(World.generate(seed=2, scale=Scale()), token_ttl=TTL) as sim:
        yield sim


def token(sim: Simulator, **params: str) -> httpx.Response:
    creds = sim.credentials
    return post(f"{sim.api_url}/token", params=params, auth=(creds.client_id, creds.client_secret))


def login_with_pin(sim: Simulator) -> dict[str, Any]:
    answer = token(sim, grant_type="pin_code", pin_code=sim.issue_pin())
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def me(sim: Simulator, access_token: str) -> httpx.Response:
    return get(f"{sim.api_url}/v1/user", headers={"Authorization": f"Bearer {access_token}"})


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Api-Key": "nope", "X-Api-Secret": "nope"},
        {"X-Api-Key": "only-a-key"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic bWU6bWU="},
    ],
    ids=["missing", "wrong", "key-only", "unknown-token", "basic"],
)
def test_missing_or_wrong_credentials(small_sim: Simulator, headers: dict[str, str]) -> None:
    with connect(small_sim, headers=headers) as client:
        for path in ("/v1/user", "/v1/spaces", "/v1/tasks", "/v1/nothing"):
            response = client.get(path)
            assert response.status_code == 401
            assert response.json()["error"] == "unauthorized"
            assert response.json()["error_description"]


def test_a_right_key_with_a_wrong_secret(small_sim: Simulator) -> None:
    creds = small_sim.credentials
    headers = {"X-Api-Key": creds.api_key, "X-Api-Secret": creds.api_secret[::-1]}
    with connect(small_sim, headers=headers) as client:
        assert client.get("/v1/user").status_code == 401


def test_each_user_has_own_credentials(small_sim: Simulator, small_world: World) -> None:
    other = next(
        u for u in small_world.state.users.values() if u.id != small_sim.credentials.user_id
    )
    with connect(small_sim, small_sim.credentials_for(other.login)) as client:
        assert client.get("/v1/user").json()["id"] == other.id


def test_authorization_page_shows_a_pin(oauth_sim: Simulator) -> None:
    creds = oauth_sim.credentials
    page = get(
        f"{oauth_sim.api_url}/authorization",
        params={"client_id": creds.client_id, "response_type": "pin_code"},
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    found = re.search(r'id="pin_code">(\w+)<', page.text)
    assert found
    answer = token(oauth_sim, grant_type="pin_code", pin_code=found.group(1))
    assert answer.status_code == 200
    bad = get(f"{oauth_sim.api_url}/authorization", params={"client_id": "x"})
    assert bad.status_code == 400


def test_pin_exchange_answers_the_documented_shape(oauth_sim: Simulator) -> None:
    grant = login_with_pin(oauth_sim)
    assert set(grant) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert grant["token_type"] == "bearer"
    assert grant["expires_in"] == 1  # 0.2 s, rounded up to whole seconds
    assert me(oauth_sim, grant["access_token"]).json()["id"] == oauth_sim.credentials.user_id
    record = oauth_sim.request_log[-1]
    assert record.credential == oauth_sim.credentials.user_id


def test_pins_are_single_use_and_bad_ones_refused(oauth_sim: Simulator) -> None:
    pin = oauth_sim.issue_pin()
    assert token(oauth_sim, grant_type="pin_code", pin_code=pin).status_code == 200
    for attempt in (pin, "00000000"):
        answer = token(oauth_sim, grant_type="pin_code", pin_code=attempt)
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_grant"
        assert answer.json()["error_description"]


def test_token_endpoint_needs_the_client_credentials(oauth_sim: Simulator) -> None:
    pin = oauth_sim.issue_pin()
    url = f"{oauth_sim.api_url}/token"
    params = {"grant_type": "pin_code", "pin_code": pin}
    for auth in (None, (oauth_sim.credentials.client_id, "wrong")):
        answer = post(url, params=params, auth=auth)
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_client"
    assert token(oauth_sim, grant_type="password").status_code == 400
    assert get(url).status_code == 404


def test_access_token_expires_without_use(oauth_sim: Simulator) -> None:
    grant = login_with_pin(oauth_sim)
    time.sleep(TTL + 0.2)
    answer = me(oauth_sim, grant["access_token"])
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_token"


def test_each_use_restarts_the_expiry_clock(oauth_sim: Simulator) -> None:
    grant = login_with_pin(oauth_sim)
    started = time.monotonic()
    while time.monotonic() - started < TTL * 3:
        assert me(oauth_sim, grant["access_token"]).status_code == 200
        time.sleep(TTL / 4)


def test_refresh_gives_a_new_access_token_only(oauth_sim: Simulator) -> None:
    grant = login_with_pin(oauth_sim)
    oauth_sim.expire_access_tokens()
    assert me(oauth_sim, grant["access_token"]).json()["error"] == "invalid_token"
    renewed = token(oauth_sim, grant_type="refresh_token", refresh_token=grant["refresh_token"])
    assert renewed.status_code == 200
    assert set(renewed.json()) == {"access_token", "token_type", "expires_in"}
    assert me(oauth_sim, renewed.json()["access_token"]).status_code == 200
    again = token(oauth_sim, grant_type="refresh_token", refresh_token=grant["refresh_token"])
    assert again.status_code == 200  # refresh tokens are reusable until they idle out


def test_bad_or_revoked_refresh_tokens(oauth_sim: Simulator) -> None:
    grant = login_with_pin(oauth_sim)
    bad = token(oauth_sim, grant_type="refresh_token", refresh_token="nonsense")
    assert (bad.status_code, bad.json()["error"]) == (401, "invalid_grant")
    oauth_sim.revoke_refresh_tokens()
    revoked = token(oauth_sim, grant_type="refresh_token", refresh_token=grant["refresh_token"])
    assert (revoked.status_code, revoked.json()["error"]) == (401, "invalid_grant")


def test_token_grant_in_a_form_body(oauth_sim: Simulator) -> None:
    creds = oauth_sim.credentials
    answer = post(
        f"{oauth_sim.api_url}/token",
        data={"grant_type": "pin_code", "pin_code": oauth_sim.issue_pin()},
        auth=(creds.client_id, creds.client_secret),
    )
    assert answer.status_code == 200


# --- legacy host -----------------------------------------------------------------------------


def own_task_with_logs(world: World) -> int:
    truth = world.truth()
    return truth.time_logs[0].task_id


def test_legacy_host_wants_basic_login_and_password(
    small_sim: Simulator, small_world: World
) -> None:
    creds = small_sim.credentials
    url = f"{small_sim.legacy_url}/user/time_entries/{own_task_with_logs(small_world)}/time_logs"
    assert get(url, auth=(creds.username, creds.password)).status_code == 200
    for auth in (None, (creds.username, "wrong"), ("nobody", creds.password)):
        refused = get(url, auth=auth)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic")
    keyed = get(url, headers=key_headers(creds))
    assert keyed.status_code == 401


def test_legacy_host_hides_other_users_tasks(small_sim: Simulator, small_world: World) -> None:
    creds = small_sim.credentials
    others = [t for t in small_world.state.tasks.values() if t.user_id != creds.user_id]
    for task_id in (others[0].id, 99999999):
        url = f"{small_sim.legacy_url}/user/time_entries/{task_id}/time_logs.xml"
        assert get(url, auth=(creds.username, creds.password)).status_code == 404
