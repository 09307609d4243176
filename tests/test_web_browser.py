"""The dashboard in a real browser: Playwright driving Debian's Chromium against a real server.

Each page is loaded with a console listener (no errors, no uncaught exceptions) and saved as a
screenshot under /tmp/shots, for people to look at.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, sync_playwright

from registry.app import create_app
from tests.conftest import SQLITE_ONLY
from tests.factories import add_plan_version, churn_frame, churn_plan, house_plan
from tests.live import server_env, start_server

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path("/tmp/shots")
# Pages, forms and static files: the same on either database (the API's tests cover both).
pytestmark = SQLITE_ONLY
HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Chromium is missing: run .ci/system-packages."
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


class Console:
    """Everything a page reported as an error: console errors and uncaught exceptions."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console = Console(page)  # type: ignore[attr-defined]
    yield page
    context.close()


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def seed(database_url: str, tmp_path: Path) -> None:
    app = create_app({"database_url": database_url, "artifact_root": tmp_path / "artifacts"})
    add_plan_version(app, "house-prices", house_plan(), activate=True, metrics={"r2": 0.81})
    add_plan_version(app, "house-prices", house_plan(), metrics={"r2": 0.86})
    add_plan_version(app, "churn", churn_plan(), activate=True, metrics={"accuracy": 0.7})
    app.extensions["registry"].db.dispose()


def make_token(server, role: str) -> str:
    result = server.manage("create-token", "--role", role, "--name", f"browser-{role}")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def sign_in(page: Page, token: str) -> None:
    if page.locator("#sign-in").is_hidden():
        page.click("#show-sign-in")
    page.fill("#token-field", token)
    with page.expect_navigation():
        page.click("#sign-in button[type=submit]")


def test_every_page_renders_without_console_errors(database_url, tmp_path, live_server, page: Page):
    seed(database_url, tmp_path)
    row = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}
    for _ in range(4):
        requests.post(f"{live_server.url}/api/v1/models/house-prices/predict", json=row, timeout=10)
    url = live_server.url

    page.goto(f"{url}/")
    assert page.locator("table.models tbody tr").count() == 2
    shoot(page, "models")

    page.goto(f"{url}/ui/models/house-prices")
    assert page.locator("svg.line-chart circle").count() == 2
    assert page.locator("svg.bar-chart rect").count() == 1  # traffic: v1 only
    assert "none → v1" in page.locator("ol.timeline").inner_text()
    shoot(page, "model")
    # Live traffic: predictions made while the page is open show up without a reload.
    assert page.inner_text("table.traffic tbody td:nth-child(2)") == "4"
    for _ in range(2):
        requests.post(f"{url}/api/v1/models/house-prices/predict", json=row, timeout=10)
    page.wait_for_function(
        "() => document.querySelector('table.traffic tbody td:nth-child(2)').textContent === '6'",
        timeout=15_000,
    )

    page.goto(f"{url}/ui/models/house-prices/versions/1")
    assert page.locator("svg.bar-chart rect").count() == 4
    page.fill("input[name='f:area']", "1500")
    page.fill("input[name='f:bedrooms']", "3")
    page.fill("input[name='f:bathrooms']", "2")
    page.fill("input[name='f:age']", "10")
    page.click("#try-form button[type=submit]")
    page.wait_for_selector("#try-prediction")
    assert "Version 1 predicts" in page.inner_text("#try-prediction")
    shoot(page, "version-linear")

    page.goto(f"{url}/ui/models/churn/versions/1")
    assert page.locator("svg.bar-chart rect").count() == 5
    page.fill("input[name='f:seats']", "3")
    page.select_option("select[name='f:plan']", label="pro")
    page.click("#try-form button[type=submit]")
    page.wait_for_selector("#try-result table")
    shoot(page, "version-logistic")

    page.goto(f"{url}/ui/models/house-prices")
    page.click("#compare-link")
    assert page.url.endswith("/ui/models/house-prices/compare")
    page.goto(f"{url}/ui/models/house-prices/compare?a=1&b=2")
    page.fill("textarea[name=csv]", "area,bedrooms,bathrooms,age\n1500,3,2,10\n2400,4,3,5\n")
    page.click("#compare-rows button[type=submit]")
    page.wait_for_selector("#compare-table")
    assert page.locator("#compare-table tbody tr").count() == 2
    shoot(page, "compare")

    # A classifier trained here: its held-out ROC curve and confusion matrix.
    frame, churned = churn_frame()
    data = frame.assign(churned=churned).to_csv(index=False).encode()
    trained = requests.post(
        f"{url}/api/v1/models/churn-trained/versions/train",
        files={"data": ("churn.csv", data)},
        data={"target": "churned"},
        headers={"Authorization": f"Bearer {make_token(live_server, 'publisher')}"},
        timeout=120,
    )
    assert trained.status_code == 201, trained.text
    page.goto(f"{url}/ui/models/churn-trained/versions/1")
    assert page.locator("svg.roc-curve polyline").count() == 1
    assert page.locator("table.confusion tbody tr").count() == 2
    shoot(page, "version-trained")
    assert page.console.errors == [], page.console.errors  # type: ignore[attr-defined]

    answer = page.goto(f"{url}/ui/models/nothing-here")
    assert answer.status == 404 and "no model" in page.inner_text("#error-message").lower()
    shoot(page, "not-found")


def test_the_try_form_takes_a_value_outside_a_feature_s_known_ones(
    database_url, tmp_path, live_server, page
):
    plan = churn_plan()
    plan["features"][2]["accepts_unknown"] = True  # an unseen plan is scored as none of them
    app = create_app({"database_url": database_url, "artifact_root": tmp_path / "artifacts"})
    add_plan_version(app, "churn", plan)
    app.extensions["registry"].db.dispose()
    page.goto(f"{live_server.url}/ui/models/churn/versions/1")
    field = page.locator("input[name='f:plan']")
    assert field.evaluate("f => [...f.list.options].map(o => o.value)") == ["basic", "plus", "pro"]
    field.fill("enterprise")
    page.fill("input[name='f:seats']", "3")
    page.click("#try-form button[type=submit]")
    page.wait_for_selector("#try-prediction")
    expected = requests.post(
        f"{live_server.url}/api/v1/models/churn/versions/1/predict",
        json={"seats": 3, "plan": "enterprise"},
        timeout=10,
    ).json()["probabilities"]
    shown = {
        row.locator("td").nth(0).inner_text(): float(row.locator("td").nth(1).inner_text())
        for row in page.locator("#try-result table").first.locator("tbody tr").all()
    }
    assert shown == pytest.approx(expected, abs=1e-7)
    assert page.console.errors == [], page.console.errors  # type: ignore[attr-defined]


def test_actions_in_the_page_are_seen_by_the_api(database_url, tmp_path, live_server, page):
    seed(database_url, tmp_path)
    # Version 3 needs a feature that version 1 never asked for: activating it needs force.
    app = create_app({"database_url": database_url, "artifact_root": tmp_path / "artifacts"})
    garage = {"name": "garage", "type": "number", "nullable": False}
    add_plan_version(app, "house-prices", house_plan(garage))
    app.extensions["registry"].db.dispose()
    token = make_token(live_server, "publisher")
    api = f"{live_server.url}/api/v1/models/house-prices"
    page.goto(f"{live_server.url}/ui/models/house-prices")
    assert page.locator("[data-action=activate]").count() == 0  # read-only without a token
    sign_in(page, token)
    assert "Signed in as" in page.inner_text("header")

    with page.expect_navigation():
        page.click("tr[data-version='2'] [data-action=activate]")
    assert requests.get(api, timeout=10).json()["active_version"] == 2
    assert "v1 → v2" in page.locator("ol.timeline").inner_text()
    shoot(page, "model-signed-in")

    page.click("tr[data-version='1'] [data-action=set-alias]")
    page.fill("#alias-form input[name=alias]", "fallback")
    with page.expect_navigation():
        page.click("#alias-form button[type=submit]")
    assert requests.get(api, timeout=10).json()["aliases"] == {"fallback": 1}

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("[data-action=remove-alias][data-alias=fallback]")
    assert requests.get(api, timeout=10).json()["aliases"] == {}

    page.click("[data-action=edit-model]")
    page.fill("#edit-model textarea[name=description]", "Prices, edited in the page.")
    page.fill("#edit-model textarea[name=tags]", "team=pricing\nstage=prod")
    with page.expect_navigation():
        page.click("#edit-model button[type=submit]")
    model = requests.get(api, timeout=10).json()
    assert model["description"] == "Prices, edited in the page."
    assert model["tags"] == {"team": "pricing", "stage": "prod"}

    with page.expect_navigation():
        page.click("tr[data-version='1'] [data-action=archive]")
    assert requests.get(f"{api}/versions/1", timeout=10).json()["archived"] is True

    with page.expect_navigation():
        page.click("[data-action=rollback]")
    assert requests.get(api, timeout=10).json()["active_version"] == 1

    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    with page.expect_navigation():
        page.click("tr[data-version='3'] [data-action=activate]")
    assert "garage" in asked[0] and "anyway" in asked[0]
    assert requests.get(api, timeout=10).json()["active_version"] == 3
    assert "v1 → v3 (forced)" in page.locator("ol.timeline").inner_text()
    # The one error is the API's 409 refusal that led to the question.
    assert page.console.errors == [  # type: ignore[attr-defined]
        "Failed to load resource: the server responded with a status of 409 (CONFLICT)"
    ]


def test_an_injected_description_shows_as_text_and_runs_nothing(
    database_url, tmp_path, live_server, page
):
    seed(database_url, tmp_path)
    token = make_token(live_server, "publisher")
    headers = {"Authorization": f"Bearer {token}"}
    api = f"{live_server.url}/api/v1/models/house-prices"
    assert requests.patch(api, json={"description": HOSTILE}, headers=headers).status_code == 200
    edit = {"description": HOSTILE, "tags": {"<b>k</b>": "</script><script>window.pwned=3"}}
    assert requests.patch(f"{api}/versions/1", json=edit, headers=headers).status_code == 200
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    for path, selector in (
        ("/", "tr:has(a[href='/ui/models/house-prices']) td.description"),
        ("/ui/models/house-prices", "#model-description"),
        ("/ui/models/house-prices/versions/1", "#version-description"),
    ):
        page.goto(f"{live_server.url}{path}")
        assert page.inner_text(selector) == HOSTILE, path
        assert page.locator("main img").count() == 0, path
        assert page.evaluate("() => window.pwned") is None, path
    shoot(page, "injected")
    assert dialogs == []
    assert page.console.errors == [], page.console.errors  # type: ignore[attr-defined]


@pytest.fixture
def closed_server(database_url, tmp_path):
    seed(database_url, tmp_path)
    env = server_env(database_url, tmp_path / "artifacts", REGISTRY_AUTH_READS="true")
    server = start_server(env, tmp_path / "server.log", workers=1)
    yield server
    server.stop()


def test_closed_reads_ask_for_a_token_once(closed_server, page):
    token = make_token(closed_server, "reader")
    page.goto(f"{closed_server.url}/ui/models/house-prices")
    assert "Reading this registry needs a token" in page.inner_text("main")
    assert page.locator("table").count() == 0
    shoot(page, "sign-in")
    sign_in(page, token)
    assert page.url == f"{closed_server.url}/ui/models/house-prices"
    assert page.locator("table.versions tbody tr").count() == 2
    assert "token" not in page.url
    # The try-it form calls the JSON API with the token from this tab's sessionStorage.
    page.click("text=v2")
    for name, value in (("area", "1500"), ("bedrooms", "3"), ("bathrooms", "2"), ("age", "10")):
        page.fill(f"input[name='f:{name}']", value)
    page.click("#try-form button[type=submit]")
    page.wait_for_selector("#try-prediction")
    assert page.locator("[data-action]").count() == 0  # a reader changes nothing
    with page.expect_navigation():
        page.click("#sign-out-form button")
    assert "Reading this registry needs a token" in page.inner_text("main")
    # The only errors are the two 401 answers of the sign-in page itself.
    assert (
        page.console.errors
        == [  # type: ignore[attr-defined]
            "Failed to load resource: the server responded with a status of 401 (UNAUTHORIZED)"
        ]
        * 2
    )


def test_static_files_arrive_head_first(live_server):
    # gunicorn sends files with sendfile, right after the head: the head must leave first.
    host, port = live_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"GET /ui/static/web/dashboard.css HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while b"\r\n\r\n" not in received:
            received += connection.recv(65536)
    assert received.startswith(b"HTTP/1.1 200 OK\r\n"), received[:80]
