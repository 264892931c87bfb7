"""The storefront's "Sign in with Google" in real headless Chromium, end to end against `make local`
and its own "Google" (tools/local_oidc.py, oidc-provider-mock): the provider's page, its ID token
checked by the social function against the provider's published key, the session in the cookie.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.chromium import DEMO_EMAIL, Shop, chromium, text, wait_for, wait_for_state
from tests.local_api import free_port, local_api


@pytest.fixture(scope="module")
def google_shop() -> Iterator[Shop]:
    storefront_port = free_port()
    options = ("--storefront-port", str(storefront_port), "--oidc-port", str(free_port()))
    with local_api(options=options) as url:
        api_port = url.rsplit(":", 1)[1]
        yield Shop(
            f"http://localhost:{storefront_port}", f"http://127.0.0.1:{storefront_port}", f"http://localhost:{api_port}"
        )


def sign_in_with_google(driver: WebDriver, shop: Shop, pick: str) -> None:
    """Click "Sign in with Google" on the storefront, then pick an identity on the provider's page
    (``pick``: a demo identity's subject, or a subject typed into its "Custom user" box)."""
    driver.get(shop.storefront)
    wait_for_state(driver, "signed-out")
    driver.find_element(By.ID, "google").click()
    wait_for(lambda: driver.find_elements(By.ID, "subject-input"), "the provider's authorization page")
    predefined = driver.find_elements(By.CSS_SELECTOR, f"button[name=sub][value='{pick}']")
    if predefined:
        predefined[0].click()
    else:
        driver.find_element(By.ID, "subject-input").send_keys(pick)
        driver.find_element(By.CSS_SELECTOR, "#subject-input + button[type=submit]").click()


def test_given_the_demo_identity_when_the_customer_signs_in_with_google_then_it_is_the_demo_customer(
    google_shop: Shop,
) -> None:
    with chromium() as browser:
        sign_in_with_google(browser, google_shop, "google-demo-customer")

        wait_for_state(browser, "signed-in")
        assert (text(browser, "profile-id"), text(browser, "profile-email")) == ("1", DEMO_EMAIL)
        assert browser.current_url == f"{google_shop.storefront}/", "the callback's code left the address bar"
        browser.refresh()  # the session is in the HttpOnly cookie the sign-in set
        wait_for_state(browser, "signed-in")


def test_given_a_new_google_identity_then_a_new_customer_signs_in(google_shop: Shop) -> None:
    with chromium() as browser:
        sign_in_with_google(browser, google_shop, "google-new-shopper")

        wait_for_state(browser, "signed-in")
        assert text(browser, "profile-email") == "new.shopper@example.com"
        assert text(browser, "profile-id") != "1"


def test_given_an_identity_without_a_verified_email_then_the_page_shows_the_refusal(google_shop: Shop) -> None:
    with chromium() as browser:
        sign_in_with_google(browser, google_shop, "someone@example.com")

        wait_for(lambda: text(browser, "error"), "the refusal")
        assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "signed-out"
        assert text(browser, "error").startswith("The provider has not verified an email address")
