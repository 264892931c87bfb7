"""The demo storefront (examples/storefront/) in real headless Chromium against `make local`.

The storefront is served on its own origin (http://localhost:<port>, the one allowed origin),
the API on http://localhost:<other port>: one site, two origins, as www.shop.example and
api.shop.example are. The same page from http://127.0.0.1:<port> is an origin not in the list.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.chromium import (
    DEMO_EMAIL,
    Shop,
    browser_cookies,
    chromium,
    log_in,
    shop,
    state,
    text,
    wait_for,
    wait_for_state,
)

SHORT_ACCESS_LIFETIME = 4  # seconds: the page renews it every 2 s

# Records every API call the page makes (URL, method, status) without changing it.
RECORD_FETCHES = """
window.apiCalls = [];
const originalFetch = window.fetch;
window.fetch = async (url, init = {}) => {
  const answer = await originalFetch(url, init);
  window.apiCalls.push([init.method || "GET", new URL(url).pathname, answer.status]);
  return answer;
};
"""
# Timers longer than a second never fire: a laptop asleep, a tab in the background.
SLEEPING_TIMERS = """
const originalSetTimeout = window.setTimeout;
window.setTimeout = (callback, delay, ...rest) => (delay > 1000 ? 0 : originalSetTimeout(callback, delay, ...rest));
"""
# A fetch from the page's own scripts: "read" with the answer's text, or "blocked" with the error.
PAGE_FETCH = """
const [url, init, done] = arguments;
fetch(url, init).then(
  async (answer) => done(["read", answer.status, await answer.text()]),
  (error) => done(["blocked", error.name, error.message]),
);
"""


@pytest.fixture(scope="module")
def local_shop() -> Iterator[Shop]:
    with shop() as running:
        yield running


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def refresh_cookie(driver: WebDriver) -> dict[str, Any] | None:
    return next((cookie for cookie in browser_cookies(driver) if cookie["name"] == "refresh_token"), None)


def page_fetch(driver: WebDriver, url: str, init: dict[str, Any]) -> list[Any]:
    result: list[Any] = driver.execute_async_script(PAGE_FETCH, url, init)
    return result


def test_given_the_storefront_when_a_customer_logs_in_reloads_and_logs_out_then_the_session_follows(
    local_shop: Shop, browser: WebDriver, tmp_path: Path
) -> None:
    log_in(browser, local_shop.storefront)
    assert text(browser, "profile-email") == DEMO_EMAIL
    assert text(browser, "profile-id") == "1"

    stored = browser.execute_script("return [document.cookie, localStorage.length, sessionStorage.length]")
    assert stored == ["", 0, 0], "no token where a script could read it"
    cookie = refresh_cookie(browser)
    assert cookie is not None
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"], cookie["path"]) == (
        True,
        True,
        "Strict",
        "/auth/token/",
    )
    assert browser.save_screenshot(str(tmp_path / "storefront.png"))
    assert (tmp_path / "storefront.png").read_bytes().startswith(b"\x89PNG")

    browser.refresh()
    wait_for_state(browser, "signed-in")
    assert text(browser, "profile-email") == DEMO_EMAIL, "the reload restored the session through the cookie"

    browser.find_element(By.ID, "logout").click()
    wait_for_state(browser, "signed-out")
    assert refresh_cookie(browser) is None, "logout cleared the cookie"
    browser.refresh()
    wait_for_state(browser, "signed-out")
    assert browser.find_element(By.ID, "login").is_displayed()


def test_given_a_session_when_a_page_from_an_origin_not_in_the_list_tries_then_it_reads_nothing_and_refreshes_nothing(
    local_shop: Shop, browser: WebDriver
) -> None:
    log_in(browser, local_shop.storefront)
    browser.get(local_shop.other_origin)
    wait_for(lambda: text(browser, "error"), "the page from the other origin to fail")
    assert state(browser) == "signed-out"
    assert "cannot be reached" in text(browser, "error")

    cookie_refresh: dict[str, Any] = {
        "method": "POST",
        "credentials": "include",
        "headers": {"Content-Type": "application/json", "X-Token-Transport": "cookie"},
        "body": "{}",
    }
    simple_post: dict[str, Any] = {"method": "POST", "credentials": "include", "body": "{}"}
    for url, init in [
        (f"{local_shop.api}/auth/token/refresh/", cookie_refresh),
        (f"{local_shop.api}/auth/token/refresh/", simple_post),
        (f"{local_shop.api}/auth/token/", {**cookie_refresh, "body": '{"email": "a", "password": "b"}'}),
        (f"{local_shop.api}/.well-known/jwks.json", {}),
    ]:
        assert page_fetch(browser, url, init)[0] == "blocked", url

    browser.get(local_shop.storefront)
    wait_for_state(browser, "signed-in")
    assert text(browser, "profile-email") == DEMO_EMAIL, "the cookie was neither used nor rotated by the other page"


@pytest.fixture(scope="module")
def short_lived_shop() -> Iterator[Shop]:
    # No authorizer cache: a cached Allow would accept an expired token (README, the authorizer).
    with shop(f"AccessTokenLifetime={SHORT_ACCESS_LIFETIME}", "AuthorizerCacheSeconds=0") as running:
        yield running


def test_given_short_lived_access_tokens_when_time_passes_then_the_page_renews_them_unnoticed(
    short_lived_shop: Shop, browser: WebDriver
) -> None:
    log_in(browser, short_lived_shop.storefront)
    expiry = browser.find_element(By.ID, "access-expiry")
    first = int(expiry.get_attribute("data-exp") or 0)
    states = set()
    deadline = time.monotonic() + 3 * SHORT_ACCESS_LIFETIME
    while time.monotonic() < deadline:
        states.add(state(browser))
        time.sleep(0.2)
    assert states == {"signed-in"}, "the customer never saw the login form"
    assert int(expiry.get_attribute("data-exp") or 0) >= first + SHORT_ACCESS_LIFETIME, "renewed at least twice"

    browser.execute_script(RECORD_FETCHES)
    browser.find_element(By.ID, "reload").click()

    def profile_read() -> list[Any] | None:  # a scheduled refresh may come in between
        reads = [call for call in browser.execute_script("return window.apiCalls") if call[0] == "GET"]
        return reads[-1] if reads and reads[-1][2] != 401 else None

    assert wait_for(profile_read, "the profile request") == ["GET", "/api/v1/customers/1/", 200]
    assert state(browser) == "signed-in"


def test_given_an_expired_access_token_when_the_page_calls_the_api_then_it_refreshes_and_retries_once(
    short_lived_shop: Shop, browser: WebDriver
) -> None:
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SLEEPING_TIMERS + RECORD_FETCHES})
    log_in(browser, short_lived_shop.storefront)
    time.sleep(SHORT_ACCESS_LIFETIME + 1.5)  # no proactive refresh: the token expires
    browser.execute_script("window.apiCalls = []")
    browser.find_element(By.ID, "reload").click()
    wait_for(lambda: len(browser.execute_script("return window.apiCalls")) >= 3, "the retried profile request")
    assert browser.execute_script("return window.apiCalls") == [
        ["GET", "/api/v1/customers/1/", 401],
        ["POST", "/auth/token/refresh/", 200],
        ["GET", "/api/v1/customers/1/", 200],
    ]
    assert state(browser) == "signed-in"
