"""Fixtures of the browser tests: Chromium, a demo-like mirror synced once, and
``mirror datasette`` serving it on loopback.

* ``chromium`` (session, autouse): the browser's path; every test here skips without
  it, saying how to install it, or fails when ``MIRROR_REQUIRE_BROWSER=1`` (CI).
* ``browser_mirror`` (session): a :class:`BrowserMirror`, the SQLite file
  ``assembla.db`` (served as database ``assembla``) of the demo account's seed at a
  small scale: four spaces, tickets with milestones and custom fields, time entries,
  comments and associations. Read only.
* ``datasette_url`` (session): the base URL (``http://127.0.0.1:PORT``) of
  ``mirror datasette`` serving ``browser_mirror``, stopped at the end of the session.
* ``browser`` (per test): a :class:`Browser` whose ``open(path)`` renders a page of
  that server in Chromium, parsed (:class:`tests.browser.chromium.Element`), and saves
  its screenshot under the test's name.

Under pytest-xdist every worker has its own session: its own mirror in its own
temporary directory, its own server on a port the system chose, and each Chromium
run its own profile directory.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.chromium import Browser, require_chromium
from tests.browser.server import BrowserMirror, serving

#: The account's world: the demo's seed, at a scale that syncs in about a second.
SCALE = "small,tickets_per_space=60,tasks_per_space=40"


@pytest.fixture(scope="session", autouse=True)
def chromium() -> str:
    """The Chromium binary (skips or fails every browser test when there is none)."""
    return require_chromium()


@pytest.fixture(scope="session")
def browser_mirror(tmp_path_factory: pytest.TempPathFactory) -> BrowserMirror:
    """The demo account (demo seed, small scale: four spaces) synced once per session,
    comments and associations included, into ``assembla.db``. Read only."""
    from assembla_mirror.demo import DEMO_SEED
    from assembla_mirror.simulator import Scale, Simulator, World
    from tests.support import run_sync_in_process

    path = tmp_path_factory.mktemp("browser") / "assembla.db"
    sim = Simulator(World.generate(seed=DEMO_SEED, scale=Scale.parse(SCALE)))
    report = run_sync_in_process(sim, path, with_comments=True, with_associations=True)
    assert report.ok, report
    return BrowserMirror(path=path, login=sim.credentials.username)


@pytest.fixture(scope="session")
def datasette_url(
    browser_mirror: BrowserMirror, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:PORT``, no trailing slash) of ``mirror datasette``
    serving ``browser_mirror`` for the session; stopped (its whole process group) when
    the session ends, failed or not."""
    log = tmp_path_factory.mktemp("datasette") / "datasette.log"
    with serving(browser_mirror.path, log) as base:
        yield base


@pytest.fixture
def browser(datasette_url: str, request: pytest.FixtureRequest) -> Browser:
    """A :class:`Browser` on the served mirror (``datasette_url``) for this test."""
    return Browser(datasette_url, request.node.name)
