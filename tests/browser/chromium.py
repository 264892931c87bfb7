"""Headless Chromium (Debian's, with its chromedriver) under Selenium, and `make local` with the demo
storefront on free ports, for the browser tests and the README's screenshot.

`.ci/run` installs ``chromium`` and ``chromium-driver`` where they are missing; no browser is ever
downloaded. Each browser gets a fresh profile directory, so no cookie outlives its test.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.local_api import free_port, local_api
from tests.mailbox import STRONG, Sent, parse

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=900,640",
)
DEMO_EMAIL, DEMO_PASSWORD = "customer@example.com", "SecurePass123!"
WAIT = 30.0  # seconds: a cold function on a loaded 2-core machine


@dataclass(frozen=True)
class Shop:
    storefront: str  # http://localhost:<port>: the allowed origin
    other_origin: str  # http://127.0.0.1:<same port>: the same page from an origin not in the list
    api: str  # http://localhost:<port>: one site with the storefront


@contextmanager
def shop(*overrides: str, mail: Path | None = None) -> Iterator[Shop]:
    """`make local` with the storefront on a free port, which is the one allowed origin; account
    mail as .eml files in ``mail`` (default: the server's .local/mail/)."""
    storefront_port = free_port()
    options = ("--storefront-port", str(storefront_port), *(("--mail-directory", str(mail)) if mail else ()))
    with local_api(*overrides, options=options) as url:
        api_port = url.rsplit(":", 1)[1]
        yield Shop(
            f"http://localhost:{storefront_port}", f"http://127.0.0.1:{storefront_port}", f"http://localhost:{api_port}"
        )


@contextmanager
def chromium() -> Iterator[WebDriver]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    assert not missing, f"{missing} missing: apt-get install chromium chromium-driver (.ci/run does)"
    profile = tempfile.mkdtemp(prefix="storefront-chromium-")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def state(driver: WebDriver) -> str:
    """The page's state: loading, signed-out or signed-in."""
    return str(driver.execute_script("return document.body.dataset.state"))


def wait_for_state(driver: WebDriver, wanted: str) -> None:
    wait_for(lambda: state(driver) == wanted, f"the page to be {wanted} (it is {state(driver)})")


def log_in(driver: WebDriver, storefront: str) -> None:
    """Open the storefront and log in through its form, as a customer would."""
    driver.get(storefront)
    wait_for_state(driver, "signed-out")
    driver.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    wait_for_state(driver, "signed-in")


def text(driver: WebDriver, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def browser_cookies(driver: WebDriver) -> list[dict[str, Any]]:
    """Every cookie of the browser, HttpOnly ones included (what no page script can see)."""
    cookies: list[dict[str, Any]] = driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
    return cookies


def fill(driver: WebDriver, values: dict[str, str]) -> None:
    for element_id, value in values.items():
        field = driver.find_element(By.ID, element_id)
        field.clear()
        field.send_keys(value)


def submit(driver: WebDriver, form_id: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"#{form_id} button[type=submit]").click()


def log_in_as(driver: WebDriver, storefront: str, email: str, password: str) -> None:
    driver.get(storefront)
    wait_for_state(driver, "signed-out")
    fill(driver, {"email": email, "password": password})
    submit(driver, "login")
    wait_for_state(driver, "signed-in")


def confirm_address(driver: WebDriver, link: str, email: str, password: str) -> None:
    """Open the confirmation mail's link and submit its form: the sign-up's email and password."""
    driver.get(link)
    wait_for_state(driver, "confirm")
    fill(driver, {"confirm-email": email, "confirm-password": password})
    submit(driver, "confirm")


def begin_sign_up(driver: WebDriver, shop: Shop, address: str, password: str = STRONG) -> None:
    """Sign up on the storefront, as far as its "check your mail" page."""
    driver.get(shop.storefront)
    wait_for_state(driver, "signed-out")
    driver.find_element(By.CSS_SELECTOR, "#login [data-go=signup]").click()
    fill(driver, {"signup-email": address, "signup-password1": password, "signup-password2": password})
    submit(driver, "signup")
    wait_for_state(driver, "check-mail")
    assert text(driver, "check-mail-to") == address


def mails_to(folder: Path, address: str) -> list[Sent]:
    """The mails to ``address`` filed in ``folder``, oldest first (the files' names start with the time)."""
    mails = (parse(path.read_bytes()) for path in sorted(folder.glob("*.eml")))
    return [mail for mail in mails if mail.to == address]


def mail_link(folder: Path, address: str, page: str) -> str:
    """The link to the storefront's ``page`` in a mail to ``address``, once the server has filed it."""

    def delivered() -> str | None:
        return next((mail.link for mail in mails_to(folder, address) if page in str(mail.link)), None)

    link: str = wait_for(delivered, f"the mail to {address} with a link to {page}")
    return link
