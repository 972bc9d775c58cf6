"""The dashboard in a real browser: Debian's Chromium driven by Playwright against
``socialcrm serve`` in a subprocess on a free loopback port.

Each test saves a screenshot under ``test-output/screenshots/`` (repository root); the
README shows them. Chromium comes from ``apt-get install chromium`` (``make test`` runs
scripts/system-deps.sh); Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from socialcrm.api.auth import create_token
from socialcrm.routing.api import refresh
from socialcrm.settings import SETTINGS_FILE
from socialcrm.workspace import Workspace

from .conftest import Built

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

if not CHROMIUM.exists():  # pragma: no cover - make test installs it
    pytest.skip(
        "Debian chromium is not installed (apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(built_workspace: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """``socialcrm serve`` on a copy of the test workspace; yields its URL and tokens."""
    db = tmp_path_factory.mktemp("browser") / "browser.duckdb"
    shutil.copy(built_workspace.path, db)
    # A finished history, worked as of its newest message (as `socialcrm demo` does), so
    # the inbox's SLA timers read hours, not the years since the sample was collected.
    (db.parent / SETTINGS_FILE).write_text('clock = "latest"\n')
    with Workspace(db) as ws:
        built_workspace.need("routing")  # the queue is the routing stage's
        refresh(ws)  # the queue as of the sample's end
        analyst = create_token(ws.con, "browser-analyst", "analyst")[1]
        # an agent who is staff (routing's staff roles) with free slots: the router has
        # already given the brand accounts their share of the queue
        agent = built_workspace.customers[-1]
        ws.set_role(agent, "employee")
        staff = create_token(ws.con, "browser-staff", "agent", agent)[1]
        assert ws.con.execute("SELECT count(*) FROM routing_queue").fetchall()[0][0] > 10
    port = _free_port()
    script = Path(sys.executable).parent / "socialcrm"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "socialcrm.cli"]
    proc = subprocess.Popen(
        [*cmd, "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError(proc.stdout.read().decode() if proc.stdout else "serve exited")
    else:
        proc.kill()
        raise RuntimeError("socialcrm serve did not answer within 60 s")
    yield {"url": url, "admin": built_workspace.tokens["admin"], "analyst": analyst,
           "agent": built_workspace.tokens["agent"], "staff": staff, "staff_entity": agent,
           "built": built_workspace}  # fmt: skip
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, server):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


def shot(page, name: str, full_page: bool = True) -> Path:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 10_000
    return path


def sign_in(page, server: dict, role: str = "agent") -> None:  # type: ignore[no-untyped-def]
    page.goto(server["url"] + "/")
    assert "/login" in page.url
    page.fill("#token", server[role])
    page.click("button[type=submit]")
    page.wait_for_url(server["url"] + "/")


def test_sign_in(page, server) -> None:  # type: ignore[no-untyped-def]
    page.goto(server["url"] + "/login")
    page.fill("#token", "scrm_1_not-a-real-token-at-all-xxxxxxxx")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text().startswith("That token is not valid")
    shot(page, "sign-in")
    sign_in(page, server)
    assert page.locator("header .who").inner_text().startswith("test-agent · agent")
    cookies = page.context.cookies()
    token_cookie = next(c for c in cookies if c["name"] == "scrm_token")
    assert token_cookie["httpOnly"] and token_cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # the token is out of the scripts' reach


def test_overview_renders_its_plots(page, server) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, server)
    activity = page.locator("#plot-activity svg.plot")
    assert activity.count() == 1
    assert page.locator("#plot-activity svg polyline").count() >= 2  # chat and twitter lines
    assert page.locator("#plot-activity svg circle").count() > 10
    b = server["built"]
    for plot in ("sentiment", "tiers", "layers", "tradeoff"):  # every stage ran in the fixture
        if plot == "tiers" and "influence" in b.stage_errors:
            continue
        assert page.locator(f"#plot-{plot} svg.plot").count() == 1, plot
        assert page.locator(f"#plot-{plot} svg").locator("rect, polyline, circle").count() >= 2
    assert page.locator(".stat .n").first.inner_text() == "4.5k"  # interactions in the slice
    shot(page, "overview")


def test_search_opens_the_360_view(page, server) -> None:  # type: ignore[no-untyped-def]
    b = server["built"]
    sign_in(page, server)
    page.fill("header .quicksearch input", b.private_handle)
    page.press("header .quicksearch input", "Enter")
    page.wait_for_url("**/search?q=*")
    page.locator("#results a.person").first.click()
    page.wait_for_selector("#person-name")
    assert page.locator("#person-name").inner_text() == b.mixed_entity
    handles = page.locator("#identities code").all_inner_texts()
    assert set(handles) == {b.mixed_entity, b.private_handle}
    assert page.locator("#recent ol.timeline li").count() == 30
    channels = set(page.locator("#activity td:first-child").all_inner_texts())
    assert channels == {"chat", "twitter"}
    shot(page, "profile-360")


def test_network_view(page, server) -> None:  # type: ignore[no-untyped-def]
    b = server["built"]
    sign_in(page, server)
    page.goto(server["url"] + f"/people/{b.brand}")
    page.click("#open-network")
    page.wait_for_selector("svg.network")
    assert page.locator("svg.network circle.node").count() >= 5
    assert page.locator("svg.network line.edge").count() >= 4
    assert page.locator("svg.network circle.node.center").count() == 1
    shot(page, "network")
    g = page.locator("svg.network g.viewport")
    box = page.locator("svg.network").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    page.wait_for_function(
        "document.querySelector('svg.network g.viewport').getAttribute('transform') !== null"
    )
    assert "scale(" in (g.get_attribute("transform") or "")


def test_inbox_shows_the_queue_with_reasons_and_sla_timers(page, server) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, server)
    page.goto(server["url"] + "/inbox")
    rows = page.locator("#queue tbody tr")
    assert rows.count() > 10
    prios = [float(x) for x in page.locator("#queue tbody td.num").all_inner_texts()]
    assert prios == sorted(prios, reverse=True)
    assert page.locator("#queue ul.why li").count() >= rows.count()
    page.wait_for_function(
        "[...document.querySelectorAll('.sla')].every(e => /left|late by/.test(e.textContent))"
    )
    assigned = [t.strip() for t in page.locator("#queue tbody td:nth-child(6)").all_inner_texts()]
    assert page.locator("#queue tbody tr button.claim").count() == assigned.count("")
    shot(page, "inbox", full_page=False)


def test_inbox_claim_and_resolve(page, server) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, server, "staff")
    page.goto(server["url"] + "/inbox")
    page.click("#inbox-views a:text('unassigned')")
    page.wait_for_url("**/inbox?view=unassigned")
    assert (
        page.locator("#queue tbody tr button.claim").count()
        == page.locator("#queue tbody tr").count()
    )
    free = page.locator("#queue tbody tr:has(button.claim)")
    assert free.count() > 0
    conversation = free.first.get_attribute("data-conversation")
    free.first.locator("button.claim").click()
    page.wait_for_url("**/inbox?view=mine&done=*")
    assert page.locator("p.ok").inner_text().startswith("Done: claimed")
    row = page.locator(f'#queue tbody tr[data-conversation="{conversation}"]')
    assert row.locator("td").nth(5).inner_text().strip() == server["staff_entity"]
    assert row.locator("button.claim").count() == 0  # held: no second claim
    shot(page, "inbox-claimed", full_page=False)
    row.locator("button.resolve").click()
    page.wait_for_url("**/inbox?view=mine&done=resolved*")
    assert page.locator("p.ok").inner_text().startswith("Done: resolved")
    assert page.locator(f'#queue tbody tr[data-conversation="{conversation}"]').count() == 0
    shot(page, "inbox-after", full_page=False)
