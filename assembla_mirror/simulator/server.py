"""The simulator's HTTP server: lifecycle, authentication, rate limit, latency, faults, log.

One threaded HTTP/1.1 server on 127.0.0.1 serves the v1 API, the legacy XML host
(``/user/...``, its paths do not collide with ``/v1``), the OAuth endpoints and
the storage host file downloads may be redirected to (``/storage/...``, which
asks for no credentials and counts against no rate limit: see :mod:`.storage`).
Each request is handled in this order: its arrival is noted, ``latency`` is
slept, then (OAuth endpoints aside) the caller is authenticated, the rate limit
counts the request, a fault may replace or spoil the answer, and the endpoint
handler runs with the world locked. Every request ends up in the request log.
Every answer's ``Date`` header shows the world's clock, which tests may shift.

That handling is one core, :meth:`Simulator.respond`, shared by two transports:
the socket server (:mod:`.transport`) and the in-process path
(:meth:`Simulator.handle`, :meth:`Simulator.transport`; see :mod:`.inprocess`),
which answers ``httpx`` requests without a socket for tests that need no network.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import parse_qs

import httpx

from assembla_mirror.simulator import api, inprocess, oauth, storage, warmup
from assembla_mirror.simulator.auth import authenticate, basic_credentials
from assembla_mirror.simulator.exchange import ROUTED_METHODS, Incoming, Reply
from assembla_mirror.simulator.faults import (
    SPOILERS,
    Fault,
    FaultConfig,
    FaultSet,
    copies,
    fault_response,
)
from assembla_mirror.simulator.limits import RateLimiter
from assembla_mirror.simulator.routes import (
    Call,
    HttpError,
    Response,
    Streamed,
    not_found,
    server_error,
    throttled,
)
from assembla_mirror.simulator.transport import HttpServer, RequestHandler
from assembla_mirror.simulator.world import World

OAUTH_PATHS = {"/authorization": "GET /authorization", "/token": "POST /token"}


@dataclass(frozen=True)
class SimCredentials:
    """Everything a client needs to call the simulator as one user (all fake)."""

    user_id: str
    login: str
    api_key: str
    api_secret: str
    username: str
    password: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class RequestRecord:
    """One request as the simulator saw it (``status`` 0: the connection was dropped).

    ``t`` is ``time.monotonic()`` at arrival, ``wall`` the real UTC time then;
    ``kind`` is ``api``, ``legacy``, ``oauth`` or ``storage`` (the storage host, see
    :mod:`.storage`); ``credential_headers`` names the Assembla credential headers
    (``X-Api-Key``, ``X-Api-Secret``, ``Authorization``) the request carried.
    """

    t: float
    wall: datetime
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    credential: str | None
    kind: str
    fault: str | None
    endpoint: str
    credential_headers: tuple[str, ...] = ()

    @property
    def had_credentials(self) -> bool:
        """Whether the request carried any Assembla credential header."""
        return bool(self.credential_headers)


@dataclass
class _Outcome:
    """What the log records about a request beyond its status, filled in while answering."""

    kind: str
    credential: str | None = None
    fault: Fault | None = None
    endpoint: str | None = None


class Simulator:
    """The Assembla API simulator serving ``world`` over HTTP on 127.0.0.1, or in-process.

    Use as a context manager or call :meth:`start`/:meth:`stop` to serve over
    loopback HTTP; :meth:`handle` and :meth:`transport` answer without a socket
    (no need to start). ``rate_limit`` is ``(per_minute, per_second)`` per
    credential or None; ``latency`` is slept before each answer; ``faults`` sets
    random fault rates; ``token_ttl`` is the idle lifetime of OAuth access tokens.
    ``storage_url`` (also settable later: :attr:`storage_url`) makes file downloads
    answer ``302`` to that storage host (see :mod:`.storage`); None serves the bytes.
    ``port=0`` lets the OS choose.
    """

    def __init__(
        self,
        world: World,
        *,
        rate_limit: tuple[int, int] | None = None,
        latency: float = 0.0,
        faults: FaultConfig | None = None,
        token_ttl: float = 900.0,
        port: int = 0,
        host: str = "127.0.0.1",
        storage_url: str | None = None,
    ) -> None:
        self.world = world
        self.latency = latency
        self.faults = FaultSet(faults or FaultConfig())
        self.tokens = oauth.TokenStore(token_ttl)
        self.storage = storage.Storage(storage_url)
        self._limiter: RateLimiter | None = None
        self.rate_limit = rate_limit
        self._address = (host, port)
        self._server: HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._log: list[tuple[int, RequestRecord]] = []
        self._log_lock = threading.Lock()
        self._arrivals = 0

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> Simulator:
        """Bind the socket and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        self._server = HttpServer(self._address, self._serve, now=self._now)
        # A short poll interval makes stop() quick (it waits for the next poll);
        # idle, that costs 100 cheap select() calls a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and the socket, join the threads.

        Slow answers in progress (``slow``, ``trickle``, ``endless``, ...) end within
        about 0.1 s, so this returns promptly.
        """
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def legacy_url(self) -> str:
        """The legacy XML host: the same server (its ``/user/...`` paths do not collide)."""
        return self.api_url

    # --- configuration and credentials ----------------------------------------------------

    @property
    def rate_limit(self) -> tuple[int, int] | None:
        """``(per_minute, per_second)`` per credential, or None for no limit."""
        return self._limiter.limits if self._limiter is not None else None

    @rate_limit.setter
    def rate_limit(self, value: tuple[int, int] | None) -> None:
        self._limiter = RateLimiter(*value) if value is not None else None

    @property
    def storage_url(self) -> str | None:
        """Where downloads are redirected (an ``http://`` or ``https://`` origin), or None.

        The storage host's paths (``/storage/...``) are served by this simulator
        itself, so ``sim.storage_url = sim.api_url`` redirects to it over the socket;
        in-process, any host reaches it (e.g. ``https://storage.example``).
        """
        return self.storage.url

    @storage_url.setter
    def storage_url(self, value: str | None) -> None:
        storage.check_url(value)
        self.storage.url = value

    @property
    def credentials(self) -> SimCredentials:
        """The primary caller's credentials."""
        return self.credentials_for(self.world.primary_user.id)

    def credentials_for(self, user_id: str) -> SimCredentials:
        """Credentials of any user of the world (id or login)."""
        user = self.world.user(user_id)
        return SimCredentials(
            user_id=user.id,
            login=user.login,
            api_key=user.api_key,
            api_secret=user.api_secret,
            username=user.login,
            password=user.password,
            client_id=self.tokens.client_id,
            client_secret=self.tokens.client_secret,
        )

    def client_environment(self, rate_limit: str = "off") -> dict[str, str]:
        """The ``ASSEMBLA_*`` variables that point ``mirror`` at this simulator as the
        primary caller: URLs, key pair, legacy login, OAuth client and client-side pacing
        (``off``, or ``PER_MINUTE/PER_SECOND`` to match a server-side limit)."""
        creds = self.credentials
        return {
            "ASSEMBLA_API_URL": self.api_url,
            "ASSEMBLA_LEGACY_URL": self.legacy_url,
            "ASSEMBLA_API_KEY": creds.api_key,
            "ASSEMBLA_API_SECRET": creds.api_secret,
            "ASSEMBLA_USERNAME": creds.username,
            "ASSEMBLA_PASSWORD": creds.password,
            "ASSEMBLA_RATE_LIMIT": rate_limit,
            "ASSEMBLA_CLIENT_ID": creds.client_id,
            "ASSEMBLA_CLIENT_SECRET": creds.client_secret,
        }

    def warm_up(self) -> None:
        """Render the primary caller's tickets and tasks now, so a first walk is served warm.

        Benchmarks call this before timing (``mirror simulate`` does it before
        printing its settings); bench scale takes a couple of seconds.
        """
        warmup.warm_up(self.world)

    def issue_pin(self) -> str:
        """A fresh PIN for the primary caller (what ``/authorization`` shows)."""
        return self.tokens.issue_pin(self.world.primary_user.id)

    def expire_access_tokens(self) -> None:
        """Expire every OAuth access token issued so far."""
        self.tokens.expire_access_tokens()

    def revoke_refresh_tokens(self) -> None:
        """Invalidate every OAuth refresh token issued so far."""
        self.tokens.revoke_refresh_tokens()

    # --- request log ---------------------------------------------------------------------

    @property
    def request_log(self) -> list[RequestRecord]:
        """A copy of the request log, in arrival order."""
        with self._log_lock:
            return [record for _, record in sorted(self._log, key=lambda item: item[0])]

    @property
    def storage_log(self) -> list[RequestRecord]:
        """The requests the storage host got, in arrival order (see
        :attr:`RequestRecord.had_credentials`)."""
        return [record for record in self.request_log if record.kind == "storage"]

    def request_counts(self) -> Counter[str]:
        """How many requests each endpoint pattern got, e.g. ``GET /v1/spaces/:space/tickets``."""
        return Counter(record.endpoint for record in self.request_log)

    def clear_log(self) -> None:
        """Forget the requests logged so far."""
        with self._log_lock:
            self._log.clear()

    # --- serving: one core for both transports ---------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` in this process, exactly as the HTTP server would answer it.

        The same handling runs (latency, authentication, rate limit, faults,
        routing, the request log, the ``Date`` header); no socket is opened and the
        simulator need not be started. A ``drop`` or ``truncate`` fault raises the
        ``httpx.RemoteProtocolError`` a socket would produce; the hostile kinds
        (``trickle``, ``trickle_headers``, ``endless``, ``huge``) raise
        :class:`~.inprocess.SocketOnlyFault`. See :mod:`~.inprocess`.
        """
        request.read()
        if request.method not in ROUTED_METHODS:
            return inprocess.unrouted(request, self._now())
        # Nothing can stop an in-process wait early (there is no server to stop), so
        # latency and ``slow`` faults simply sleep.
        reply = self.respond(inprocess.incoming(request), pause=time.sleep)
        return inprocess.outgoing(reply, request, self._now())

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport answering every request through :meth:`handle` (no socket).

        Pass it as ``transport=`` (and ``legacy_transport=``: the legacy paths share
        the handler) with base URLs such as :data:`~.inprocess.IN_PROCESS_URL`.
        """
        return httpx.MockTransport(self.handle)

    def respond(self, request: Incoming, pause: Callable[[float], object]) -> Reply:
        """Decide the answer to ``request`` and log it: the core both transports share.

        ``pause(seconds)`` does the waiting (``latency``, ``slow`` faults); the socket
        server passes a wait that :meth:`stop` cuts short. The request is logged
        before this returns, so a client that got its answer finds it logged.
        """
        arrived, wall = time.monotonic(), datetime.now(UTC)
        with self._log_lock:
            self._arrivals += 1
            order = self._arrivals
        if self.latency > 0:
            pause(self.latency)
        path = request.path
        outcome = _Outcome(kind="oauth" if path in OAUTH_PATHS else "api")
        if path.startswith(storage.PREFIX):
            outcome.kind, outcome.endpoint = "storage", storage.ENDPOINT
        try:
            if outcome.kind == "oauth":
                response: Response | Streamed | None = self._oauth(request)
                outcome.endpoint = OAUTH_PATHS[path]
            elif outcome.kind == "storage":
                response = self._storage(request, outcome, pause)
            else:
                response = self._answer(request, arrived, outcome, pause)
        except Exception:
            traceback.print_exc()  # a simulator bug: show it, answer like Assembla would
            response = server_error()
        record = RequestRecord(
            t=arrived,
            wall=wall,
            method=request.method,
            path=path,
            query=request.query,
            status=response.status if response is not None else 0,
            credential=outcome.credential,
            kind=outcome.kind,
            fault=outcome.fault.kind if outcome.fault is not None else None,
            endpoint=outcome.endpoint or f"{request.method} {path}",
            credential_headers=storage.credential_headers(request.headers),
        )
        with self._log_lock:
            self._log.append((order, record))
        return Reply(response, outcome.fault)

    def _now(self) -> datetime:
        """The instant ``Date`` headers show: the (current) world's clock."""
        return self.world.clock.now()

    def _serve(self, handler: RequestHandler) -> None:
        """The socket server's callback: read the request, let the core answer, write it."""
        reply = self.respond(handler.read_incoming(), pause=handler.server.stopping.wait)
        handler.write_reply(reply)

    def _answer(
        self,
        request: Incoming,
        arrived: float,
        outcome: _Outcome,
        pause: Callable[[float], object],
    ) -> Response | Streamed | None:
        """The response to an API or legacy request, or None to drop the connection."""
        method, path, query = request.method, request.path, request.query
        if path.startswith("/user/"):
            outcome.kind = "legacy"
        found = api.ROUTER.match(method, path)
        if found is not None:
            outcome.endpoint = found[0].endpoint
        user = authenticate(request.headers, outcome.kind, self.world.state, self.tokens)
        if isinstance(user, Response):
            return user
        outcome.credential = user.id
        limiter = self._limiter
        if limiter is not None:
            verdict = limiter.check(user.id, arrived)
            if not verdict.allowed:
                return throttled(verdict.retry_after)
        replaced, fault_answer = self._fault(request, outcome, pause)
        if replaced:
            return fault_answer
        if found is None:
            return not_found()
        route, params = found
        call = Call(self.world, user, params, query, request.headers, self.storage)
        with self.world.lock:
            try:
                answer = route.handler(call)
            except HttpError as exc:
                return exc.response
        fault = outcome.fault
        if fault is not None and fault.kind == "copies" and isinstance(answer, Response):
            return copies(answer)
        return answer

    def _fault(
        self, request: Incoming, outcome: _Outcome, pause: Callable[[float], object]
    ) -> tuple[bool, Response | Streamed | None]:
        """Pick a fault for ``request``: ``(True, answer)`` when it replaces the answer.

        A ``slow`` fault is slept here; the other spoilers are applied later.
        """
        fault = self.faults.pick(request.path, request.query)
        if fault is None:
            return False, None
        outcome.fault = fault
        if fault.kind == "slow":
            pause(fault.seconds)
        elif fault.kind not in SPOILERS:
            return True, fault_response(fault)
        return False, None

    def _storage(
        self, request: Incoming, outcome: _Outcome, pause: Callable[[float], object]
    ) -> Response | Streamed | None:
        """The storage host's answer: no credentials asked, no rate limit; faults apply."""
        replaced, fault_answer = self._fault(request, outcome, pause)
        if replaced:
            return fault_answer
        with self.world.lock:
            return storage.serve(self.world.state, self.storage, request)

    def _oauth(self, request: Incoming) -> Response:
        method, path, query = request.method, request.path, request.query
        if OAUTH_PATHS[path] != f"{method} {path}":
            return not_found()
        if path == "/authorization":
            return oauth.authorization_page(self.tokens, query, self.world.primary_user.id)
        params = {**parse_qs(request.body.decode("utf-8", "replace")), **query}
        client = basic_credentials(request.headers.get("Authorization"))
        return oauth.token_endpoint(self.tokens, params, client)
