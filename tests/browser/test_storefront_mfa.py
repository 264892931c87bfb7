"""The demo storefront's two-step verification in real headless Chromium against `make local`:
enrolment with the QR code, the recovery codes shown once, the second step at login, a login
with a recovery code, and turning it off."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pyotp
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.chromium import (
    Shop,
    browser_cookies,
    chromium,
    fill,
    log_in_as,
    state,
    submit,
    text,
    wait_for,
    wait_for_state,
)
from tests.browser.test_storefront_accounts import sign_up
from tests.mailbox import STRONG


def new_customer(driver: WebDriver, shop: Shop, mail: Path) -> str:
    address = f"mfa-{uuid.uuid4().hex[:8]}@example.com"
    sign_up(driver, shop, mail, address)
    log_in_as(driver, shop.storefront, address, STRONG)
    return address


def enrol(driver: WebDriver) -> tuple[str, list[str]]:
    """Turn two-step verification on from the profile: scan (read) the key, type the app's code."""
    wait_for(lambda: driver.find_element(By.ID, "mfa-enrol").is_displayed(), "the enrol button")
    driver.find_element(By.ID, "mfa-enrol").click()
    secret = wait_for(lambda: text(driver, "mfa-secret"), "the key")
    qr = driver.find_element(By.ID, "mfa-qr")
    assert str(qr.get_attribute("src")).startswith("data:image/svg+xml;")
    wait_for(lambda: driver.execute_script("return arguments[0].naturalWidth", qr), "the QR code drawn (CSP allows it)")
    fill(driver, {"mfa-confirm-code": pyotp.TOTP(secret).now(), "mfa-confirm-password": STRONG})
    submit(driver, "mfa-confirm")
    wait_for(lambda: driver.find_element(By.ID, "mfa-codes").is_displayed(), "the recovery codes")
    codes = [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#mfa-codes-list li")]
    driver.find_element(By.ID, "mfa-codes-done").click()
    return secret, codes


def log_out(driver: WebDriver) -> None:
    driver.find_element(By.ID, "logout").click()
    wait_for_state(driver, "signed-out")


def log_in_to_the_second_step(driver: WebDriver, address: str) -> None:
    fill(driver, {"email": address, "password": STRONG})
    submit(driver, "login")
    wait_for_state(driver, "mfa")


def next_code(secret: str) -> str:
    """The code of the next time step: the step of the enrolment's code is spent."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def test_given_the_storefront_when_a_customer_enrols_then_the_codes_show_once_and_login_asks_for_the_app(
    accounts_shop: Shop, mail_folder: Path
) -> None:
    with chromium() as browser:
        address = new_customer(browser, accounts_shop, mail_folder)

        secret, codes = enrol(browser)

        assert len(codes) == 10
        assert all(len(code) == 14 for code in codes)
        assert browser.find_elements(By.CSS_SELECTOR, "#mfa-codes-list li") == [], "shown once, then gone"
        assert text(browser, "mfa-status").startswith("On since")
        assert text(browser, "notice") == "Two-step verification is on. Your other sessions have ended."
        log_out(browser)
        log_in_to_the_second_step(browser, address)
        assert not any(cookie["name"] == "refresh_token" for cookie in browser_cookies(browser)), "no session yet"
        fill(browser, {"mfa-code": next_code(secret)})
        submit(browser, "mfa-step")
        wait_for_state(browser, "signed-in")
        assert text(browser, "profile-email") == address


def test_given_a_lost_phone_when_the_customer_uses_a_recovery_code_then_they_sign_in_and_can_turn_it_off(
    accounts_shop: Shop, mail_folder: Path
) -> None:
    with chromium() as browser:
        address = new_customer(browser, accounts_shop, mail_folder)
        _, codes = enrol(browser)
        log_out(browser)

        log_in_to_the_second_step(browser, address)
        fill(browser, {"mfa-code": codes[0]})
        submit(browser, "mfa-step")
        wait_for_state(browser, "signed-in")
        fill(browser, {"mfa-off-code": codes[1], "mfa-off-password": STRONG})
        submit(browser, "mfa-off")
        wait_for(lambda: text(browser, "mfa-status").startswith("Off"), "two-step verification off")
        log_out(browser)
        log_in_as(browser, accounts_shop.storefront, address, STRONG)

        assert state(browser) == "signed-in", "the password alone again"
