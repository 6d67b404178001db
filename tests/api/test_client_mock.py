"""AssemblaClient over httpx.MockTransport: the status table, retries, auth, refresh, paths."""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from assembla_mirror.api.client import (
    MAX_RETRY_AFTER,
    STATUS_ACTIONS,
    Action,
    AssemblaClient,
    action_for,
    normalize_path,
    query_pairs,
)
from assembla_mirror.api.credentials import (
    Credentials,
    load_credentials,
    read_credentials_file,
    save_credentials,
)
from assembla_mirror.errors import (
    ApiError,
    AuthError,
    ConfigError,
    ForbiddenError,
    NotFoundError,
    ResponseFormatError,
    ToolNotFoundError,
)
from assembla_mirror.model import convert as n
from assembla_mirror.pages.decode import decode_page
from tests.api.reading import get_list, get_time_logs, iter_pages

from .conftest import KEY_CREDS, FakeClock, Handler, MakeClient, json_response, no_content

BEARER = Credentials(
    access_token="tok-old-1111",
    refresh_token="ref-2222",
    client_id="cid-3333",
    client_secret="csec-4444",
)


def all_text(exc: BaseException) -> str:
    """Everything reachable from an exception's chain, as text."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [repr(current), str(current), repr(current.args), repr(vars(current))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def assert_no_secrets(text: str, creds: Credentials) -> None:
    for secret in creds.secrets():
        assert secret not in text


class Recorder:
    """A MockTransport handler answering from a list (the last answer repeats)."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


# -- the table -------------------------------------------------------------------


def test_status_table_and_fallbacks() -> None:
    assert STATUS_ACTIONS[401] is Action.UNAUTHORIZED
    assert action_for(201) is Action.DATA
    assert action_for(302) is Action.REDIRECT
    assert action_for(422) is Action.FAIL
    assert action_for(501) is Action.FAIL
    assert {s for s, a in STATUS_ACTIONS.items() if a is Action.RETRY} == {500, 502, 503, 504}


@pytest.mark.parametrize(
    "given", ["spaces", "/spaces", "v1/spaces", "/v1/spaces", " spaces ", "/v1/spaces/"]
)
def test_paths_are_normalised(given: str) -> None:
    assert normalize_path(given)[0].rstrip("/") == "/v1/spaces"


def test_path_details() -> None:
    assert normalize_path("/v1/spaces.json") == ("/v1/spaces.json", [])
    assert normalize_path("spaces?page=2") == ("/v1/spaces", [("page", "2")])
    assert normalize_path("user/time_entries/1/time_logs", versioned=False)[0] == (
        "/user/time_entries/1/time_logs"
    )
    with pytest.raises(ConfigError, match="not a URL"):
        normalize_path("https://evil.test/v1/spaces?api_key=k")


def test_list_params_repeat_their_key_and_none_is_dropped() -> None:
    assert query_pairs({"users[]": ["a", "b"], "report": 0, "x": None, "flag": True}) == [
        ("users[]", "a"),
        ("users[]", "b"),
        ("report", "0"),
        ("flag", "true"),
    ]


# -- requests as sent -------------------------------------------------------------


def test_key_auth_headers_user_agent_and_url(make_client: MakeClient) -> None:
    handler = Recorder(json_response([{"id": 1}]))
    client = make_client(handler)
    assert get_list(client, "spaces", {"users[]": ["a", "b"]}) == [{"id": 1}]
    request = handler.requests[0]
    assert request.url.path == "/v1/spaces"
    assert request.url.params.get_list("users[]") == ["a", "b"]
    assert request.headers["X-Api-Key"] == "key-AAAA1111"
    assert request.headers["X-Api-Secret"] == "secret-BBBB2222"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("assembla-mirror/")
    assert "Authorization" not in request.headers


def test_bearer_auth_header(make_client: MakeClient) -> None:
    handler = Recorder(json_response({"login": "me"}))
    client = make_client(handler, credentials=BEARER)
    assert client.whoami() == {"login": "me"}
    assert handler.requests[0].headers["Authorization"] == "Bearer tok-old-1111"
    assert "X-Api-Key" not in handler.requests[0].headers


def test_no_credentials_fails_before_sending(make_client: MakeClient) -> None:
    handler = Recorder(json_response({}))
    client = make_client(handler, credentials=Credentials())
    with pytest.raises(AuthError, match="ASSEMBLA_API_KEY and ASSEMBLA_API_SECRET"):
        client.whoami()
    assert handler.requests == []


# -- 2xx, 204, 404, 403, other 4xx --------------------------------------------------------


def test_204_is_none_or_an_empty_list(make_client: MakeClient) -> None:
    client = make_client(Recorder(no_content()))
    assert client.get("spaces/x/tickets") is None
    assert get_list(client, "spaces/x/tickets") == []


def test_get_list_refuses_what_is_not_a_list_of_objects(make_client: MakeClient) -> None:
    client = make_client(Recorder(json_response({"id": 1})))
    with pytest.raises(ResponseFormatError, match="expected a JSON list"):
        get_list(client, "spaces")
    client = make_client(Recorder(json_response([1, 2])))
    with pytest.raises(ResponseFormatError):
        get_list(client, "spaces")


def test_404_tool_not_found_and_plain_404(make_client: MakeClient) -> None:
    tool = httpx.Response(404, text="Tool not found for this project")
    client = make_client(Recorder(tool))
    with pytest.raises(ToolNotFoundError) as caught:
        get_list(client, "spaces/abc/tickets")
    assert (caught.value.status, caught.value.path) == (404, "/v1/spaces/abc/tickets")
    client = make_client(Recorder(httpx.Response(404, text=" ")))
    with pytest.raises(NotFoundError) as plain:
        client.get("spaces/zzz")
    assert not isinstance(plain.value, ToolNotFoundError)


def test_403_stops_at_once(make_client: MakeClient) -> None:
    handler = Recorder(json_response({"error": "forbidden"}, 403))
    client = make_client(handler)
    with pytest.raises(ForbiddenError, match="GET /v1/spaces/abc: forbidden"):
        client.get("spaces/abc")
    assert len(handler.requests) == 1


def test_other_4xx_fail_at_once_with_the_status(make_client: MakeClient) -> None:
    handler = Recorder(json_response({"error": "unprocessable"}, 422))
    client = make_client(handler)
    with pytest.raises(ApiError, match=r"GET /v1/tasks failed: HTTP 422 \(unprocessable\)") as e:
        client.get("tasks")
    assert e.value.status == 422
    assert len(handler.requests) == 1


def test_a_redirect_is_not_followed_and_names_the_target_host(make_client: MakeClient) -> None:
    moved = httpx.Response(302, headers={"Location": "https://elsewhere.test:8443/v1/spaces"})
    handler = Recorder(moved)
    client = make_client(handler)
    with pytest.raises(ApiError, match=r"redirected to elsewhere\.test:8443") as caught:
        client.get("spaces")
    assert len(handler.requests) == 1
    assert_no_secrets(all_text(caught.value), KEY_CREDS)


# -- retries ------------------------------------------------------------------------------


def test_5xx_then_success(make_client: MakeClient, clock: FakeClock) -> None:
    html = httpx.Response(500, text="<html>Error 500</html>", headers={"Content-Type": "text/html"})
    handler = Recorder(html, json_response({}, 503), json_response([{"id": 1}]))
    client = make_client(handler)
    assert get_list(client, "spaces") == [{"id": 1}]
    stats = client.stats.snapshot()
    assert (stats.requests, stats.retries) == (3, 2)
    assert stats.by_status == {500: 1, 503: 1, 200: 1}
    assert len(clock.sleeps) == 2
    assert all(0 < s <= 0.05 for s in clock.sleeps)


def test_429_with_retry_after_pauses_every_worker(
    make_client: MakeClient, clock: FakeClock
) -> None:
    throttled = json_response({"error": "rate limit exceeded"}, 429, **{"Retry-After": "3"})
    handler = Recorder(throttled, json_response([]))
    client = make_client(handler)
    start = clock.now
    client.get("spaces")
    assert client.limiter.paused_until == pytest.approx(start + 3)
    assert clock.now >= start + 3
    assert client.stats.throttled == 1


def test_429_without_retry_after_backs_off(make_client: MakeClient, clock: FakeClock) -> None:
    handler = Recorder(json_response({"error": "rate limit exceeded"}, 429), json_response([]))
    client = make_client(handler)
    client.get("spaces")
    assert 0.005 <= clock.sleeps[0] <= 0.01
    assert client.stats.throttled == 1


def test_503_retry_after_as_http_date_is_honoured(
    make_client: MakeClient, clock: FakeClock
) -> None:
    date = "Wed, 21 Oct 2099 07:28:00 GMT"  # far away: cut to the maximum
    handler = Recorder(json_response({}, 503, **{"Retry-After": date}), json_response([]))
    client = make_client(handler)
    start = clock.now
    client.get("spaces")
    assert clock.now - start == pytest.approx(MAX_RETRY_AFTER)
    assert MAX_RETRY_AFTER <= 90  # five such waits still end a run inside a 15-minute cron slot


def test_exhausted_retries_name_method_path_status_and_leak_nothing(
    make_client: MakeClient,
) -> None:
    handler = Recorder(json_response({}, 503))
    client = make_client(handler, max_attempts=4)
    with pytest.raises(ApiError) as caught:
        client.get("spaces/abc/tickets", {"api_key": "key-AAAA1111"})
    assert str(caught.value) == "GET /v1/spaces/abc/tickets failed after 4 attempts: HTTP 503"
    assert (caught.value.method, caught.value.status) == ("GET", 503)
    assert len(handler.requests) == 4
    assert_no_secrets(all_text(caught.value), KEY_CREDS)


@pytest.mark.parametrize(
    ("failure", "cause"),
    [
        (httpx.ReadTimeout("timed out"), "timed out"),
        (httpx.ConnectError("refused"), "connection error"),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "dropped"),
        (
            httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body: incomplete read"
            ),
            "truncated response body",
        ),
    ],
)
def test_transport_failures_are_retried_and_never_chained(
    make_client: MakeClient, failure: Exception, cause: str
) -> None:
    handler = Recorder(failure, json_response([{"id": 1}]))
    assert get_list(make_client(handler), "spaces") == [{"id": 1}]
    handler = Recorder(failure)
    client = make_client(handler, max_attempts=2)
    with pytest.raises(ApiError, match=cause) as caught:
        client.get("spaces")
    assert len(handler.requests) == 2
    text = all_text(caught.value)
    assert "httpx" not in text
    assert "Request" not in text
    assert_no_secrets(text, KEY_CREDS)


#: Bodies a proxy or a dropped connection leaves behind: retried, never taken as data.
BROKEN_BODIES = [
    httpx.Response(200, text="<html>proxy</html>", headers={"Content-Type": "text/html"}),
    httpx.Response(200, text='[{"id": 1}, {"id"', headers={"Content-Type": "application/json"}),
    httpx.Response(200, text="", headers={"Content-Type": "application/json"}),
]


@pytest.mark.parametrize("body", BROKEN_BODIES)
def test_html_or_broken_json_is_retried_then_a_format_error(
    make_client: MakeClient, body: httpx.Response
) -> None:
    handler = Recorder(body, json_response([{"id": 1}]))
    assert get_list(make_client(handler), "spaces") == [{"id": 1}]
    client = make_client(Recorder(body), max_attempts=3)
    with pytest.raises(ResponseFormatError, match="GET /v1/spaces failed after 3 attempts"):
        client.get("spaces")


def tasks_decoded(client: AssemblaClient) -> list[tuple[int, int | None, bool]]:
    walk = client.iter_decoded("tasks", None, lambda content: decode_page(n.TASKS, None, content))
    return [(number, None if page is None else len(page), last) for number, page, last in walk]


def test_decoded_pages_end_like_any_list(make_client: MakeClient) -> None:
    handler = Recorder(json_response([{"id": i} for i in range(100)]), no_content())
    assert tasks_decoded(make_client(handler)) == [(1, 100, False), (2, None, True)]


@pytest.mark.parametrize("body", BROKEN_BODIES)
def test_decoded_pages_retry_html_or_broken_json(
    make_client: MakeClient, body: httpx.Response
) -> None:
    handler = Recorder(body, json_response([{"id": 1}]))
    assert tasks_decoded(make_client(handler)) == [(1, 1, True)]
    assert len(handler.requests) == 2
    with pytest.raises(ResponseFormatError, match="GET /v1/tasks failed after 3 attempts"):
        tasks_decoded(make_client(Recorder(body), max_attempts=3))


def test_a_decoded_page_that_is_not_a_list_names_the_request(make_client: MakeClient) -> None:
    handler = Recorder(json_response({"error": "odd"}))
    with pytest.raises(ResponseFormatError, match="GET /v1/tasks: expected a JSON list") as caught:
        tasks_decoded(make_client(handler))
    assert (caught.value.path, caught.value.status) == ("/v1/tasks", 200)
    assert len(handler.requests) == 1  # a well-formed answer of the wrong shape is not retried


# -- 401 and token refresh --------------------------------------------------------------------


def test_401_with_a_key_pair_names_the_variables(make_client: MakeClient) -> None:
    handler = Recorder(json_response({"error": "unauthorized"}, 401))
    client = make_client(handler)
    with pytest.raises(AuthError) as caught:
        client.whoami()
    message = str(caught.value)
    assert "ASSEMBLA_API_KEY and ASSEMBLA_API_SECRET" in message
    assert "mirror auth" in message
    assert len(handler.requests) == 1
    assert_no_secrets(all_text(caught.value), KEY_CREDS)


def test_401_on_a_token_that_cannot_be_refreshed(make_client: MakeClient) -> None:
    creds = Credentials(access_token="tok-only-9999")
    client = make_client(
        Recorder(json_response({"error": "invalid_token"}, 401)), credentials=creds
    )
    with pytest.raises(AuthError, match="ASSEMBLA_REFRESH_TOKEN") as caught:
        client.whoami()
    assert "invalid_token" in str(caught.value)
    assert_no_secrets(all_text(caught.value), creds)


def token_server(
    *, refresh_answer: httpx.Response | None = None, refresh_delay: float = 0.0
) -> tuple[Handler, dict[str, Any]]:
    """A handler: v1 paths want the current token; /token refreshes it."""
    state: dict[str, Any] = {"token": "tok-new-5555", "refreshes": 0, "refresh_requests": []}
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            with lock:
                state["refreshes"] += 1
                state["refresh_requests"].append(request)
            time.sleep(refresh_delay)  # widen the window for concurrent 401s
            if refresh_answer is not None:
                return refresh_answer
            return json_response({"access_token": state["token"], "expires_in": 900})
        if request.headers.get("Authorization") != f"Bearer {state['token']}":
            return json_response({"error": "invalid_token"}, 401)
        return json_response({"login": "me"})

    return handler, state


def test_expired_token_is_refreshed_once_and_the_request_retried(make_client: MakeClient) -> None:
    handler, state = token_server()
    client = make_client(handler, credentials=BEARER)
    assert client.whoami() == {"login": "me"}
    assert state["refreshes"] == 1
    refresh = state["refresh_requests"][0]
    assert refresh.method == "POST"
    assert dict(refresh.url.params) == {"grant_type": "refresh_token", "refresh_token": "ref-2222"}
    expected = base64.b64encode(b"cid-3333:csec-4444").decode()
    assert refresh.headers["Authorization"] == f"Basic {expected}"
    assert client.credentials.access_token == "tok-new-5555"
    assert client.credentials.refresh_token == "ref-2222"  # unchanged: none came back
    assert client.stats.refreshes == 1


def test_concurrent_401s_cause_one_refresh(make_client: MakeClient) -> None:
    handler, state = token_server(refresh_delay=0.1)
    client = make_client(handler, credentials=BEARER)
    barrier = threading.Barrier(8)
    results: list[dict[str, Any]] = []
    errors: list[Exception] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(client.whoami())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 8
    assert state["refreshes"] == 1


def test_refreshed_token_is_written_back_to_the_file_it_came_from(
    make_client: MakeClient, tmp_path: Path
) -> None:
    path = tmp_path / "conf" / "credentials.json"
    save_credentials(BEARER.with_(username="alice", password="pw-8888"), path)
    creds = load_credentials({}, path)
    handler, _ = token_server()
    client = make_client(handler, credentials=creds)
    client.whoami()
    stored = read_credentials_file(path)
    assert stored["access_token"] == "tok-new-5555"
    assert stored["refresh_token"] == "ref-2222"
    assert stored["username"] == "alice"
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_token_from_the_environment_is_not_written_anywhere(
    make_client: MakeClient, tmp_path: Path
) -> None:
    path = tmp_path / "credentials.json"
    env = {
        "ASSEMBLA_ACCESS_TOKEN": "tok-old-1111",
        "ASSEMBLA_REFRESH_TOKEN": "ref-2222",
        "ASSEMBLA_CLIENT_ID": "cid-3333",
        "ASSEMBLA_CLIENT_SECRET": "csec-4444",
    }
    handler, state = token_server()
    make_client(handler, credentials=load_credentials(env, path)).whoami()
    assert state["refreshes"] == 1
    assert not path.exists()


def test_only_a_refresh_token_refreshes_before_the_first_request(make_client: MakeClient) -> None:
    handler, state = token_server()
    client = make_client(handler, credentials=BEARER.with_(access_token=None))
    assert client.whoami() == {"login": "me"}
    assert state["refreshes"] == 1


def test_a_dead_refresh_token_says_run_mirror_auth_again(make_client: MakeClient) -> None:
    dead = json_response({"error": "invalid_grant", "error_description": "expired"}, 401)
    handler, _ = token_server(refresh_answer=dead)
    client = make_client(handler, credentials=BEARER)
    with pytest.raises(
        AuthError, match="refresh token is no longer valid: run `mirror auth` again"
    ):
        client.whoami()
    with pytest.raises(AuthError) as caught:
        client.whoami()
    assert_no_secrets(all_text(caught.value), BEARER)


def test_concurrent_401s_with_a_dead_refresh_token_ask_once(make_client: MakeClient) -> None:
    dead = json_response({"error": "invalid_grant"}, 401)
    handler, state = token_server(refresh_answer=dead, refresh_delay=0.05)
    client = make_client(handler, credentials=BEARER)
    barrier = threading.Barrier(6)
    failures: list[Exception] = []

    def worker() -> None:
        barrier.wait()
        try:
            client.whoami()
        except AuthError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(failures) == 6
    assert all("no longer valid" in str(exc) for exc in failures)
    assert state["refreshes"] == 1


def test_a_token_still_rejected_after_refresh_is_final(make_client: MakeClient) -> None:
    calls = Recorder(json_response({"error": "invalid_token"}, 401))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return json_response({"access_token": "tok-new-5555"})
        return calls(request)

    client = make_client(handler, credentials=BEARER)
    with pytest.raises(AuthError, match="refreshed access token"):
        client.whoami()
    assert len(calls.requests) == 2


def test_refresh_failing_with_5xx_does_not_leak_the_refresh_token(make_client: MakeClient) -> None:
    handler, _ = token_server(refresh_answer=json_response({}, 503))
    client = make_client(handler, credentials=BEARER, max_attempts=2)
    with pytest.raises(ApiError, match=r"POST /token failed after 2 attempts: HTTP 503") as caught:
        client.whoami()
    assert_no_secrets(all_text(caught.value), BEARER)


# -- legacy host --------------------------------------------------------------------------------

TIME_LOGS = b"""<?xml version="1.0" encoding="UTF-8"?>
<time-logs type="array"><time-log><id type="integer">5</id><task-id type="integer">9</task-id>
<description nil="true"/></time-log></time-logs>"""


def test_time_logs_use_basic_auth_and_xml(make_client: MakeClient) -> None:
    legacy = Recorder(
        httpx.Response(200, content=TIME_LOGS, headers={"Content-Type": "application/xml"})
    )
    creds = KEY_CREDS.with_(username="alice", password="pw-8888")
    client = make_client(Recorder(json_response({})), credentials=creds, legacy_handler=legacy)
    assert get_time_logs(client, 9) == [{"id": "5", "task_id": "9", "description": None}]
    request = legacy.requests[0]
    assert request.url.host == "www.example.test"
    assert request.url.path == "/user/time_entries/9/time_logs"
    assert request.headers["Accept"] == "application/xml"
    assert (
        request.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:pw-8888").decode()
    )
    assert "X-Api-Key" not in request.headers


def test_time_logs_without_a_legacy_login(make_client: MakeClient) -> None:
    client = make_client(Recorder(json_response({})))
    with pytest.raises(AuthError, match="ASSEMBLA_USERNAME and ASSEMBLA_PASSWORD"):
        get_time_logs(client, 1)


def test_time_logs_401_and_404(make_client: MakeClient) -> None:
    creds = KEY_CREDS.with_(username="alice", password="pw-8888")
    client = make_client(
        Recorder(json_response({})), credentials=creds, legacy_handler=Recorder(httpx.Response(401))
    )
    with pytest.raises(AuthError, match="ASSEMBLA_USERNAME and ASSEMBLA_PASSWORD") as caught:
        get_time_logs(client, 1)
    assert_no_secrets(all_text(caught.value), creds)
    client = make_client(
        Recorder(json_response({})), credentials=creds, legacy_handler=Recorder(httpx.Response(404))
    )
    with pytest.raises(NotFoundError):
        get_time_logs(client, 1)


def test_broken_time_logs_xml_is_retried(make_client: MakeClient) -> None:
    creds = KEY_CREDS.with_(username="alice", password="pw-8888")
    legacy = Recorder(
        httpx.Response(200, content=TIME_LOGS[:60]),
        httpx.Response(200, content=TIME_LOGS),
    )
    client = make_client(Recorder(json_response({})), credentials=creds, legacy_handler=legacy)
    assert len(get_time_logs(client, 9)) == 1
    assert len(legacy.requests) == 2


# -- raw access and paging ---------------------------------------------------------------------


def test_raw_get(make_client: MakeClient) -> None:
    client = make_client(Recorder(json_response({"a": 1})))
    raw = client.raw_get("spaces/x", {"p": "1"})
    assert (raw.status, raw.text) == (200, '{"a": 1}')
    assert raw.content_type.startswith("application/json")


def test_iter_pages_sends_page_and_per_page(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        assert request.url.params["per_page"] == "100"
        assert request.url.params["report"] == "0"
        return json_response([{"id": i} for i in range(100)]) if page == 1 else no_content()

    pages = list(iter_pages(make_client(handler), "spaces/x/tickets", {"report": 0}))
    assert [(p.number, len(p.items), p.last) for p in pages] == [(1, 100, False), (2, 0, True)]


def test_iter_pages_raises_tool_not_found(make_client: MakeClient) -> None:
    client = make_client(Recorder(httpx.Response(404, text="Tool not found for this project")))
    with pytest.raises(ToolNotFoundError):
        list(iter_pages(client, "spaces/x/milestones/all"))


def test_client_is_a_context_manager(make_client: MakeClient) -> None:
    client = make_client(Recorder(json_response([])))
    with client as same:
        assert same is client
    with pytest.raises(RuntimeError):
        client.get("spaces")
