"""`make local`'s account mail over real HTTP: one .eml file, its decoded .txt and one printed line per message."""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs, urlsplit

import requests

from tests.client.server import LocalServer
from tests.helpers import ROOT

PASSWORD = "Quiet-Harbour-42"


def wait_for_mail_line(server: LocalServer, address: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [line for line in server.lines() if line.startswith(f"mail to {address}:")]
        if found:
            return found[-1]
        time.sleep(0.2)
    raise AssertionError("\n".join(server.lines()[-20:]))


def test_given_make_local_when_a_customer_signs_up_then_the_link_is_printed_and_filed_and_verifies(
    server: LocalServer,
) -> None:
    address = f"local-{uuid.uuid4().hex[:8]}@example.com"
    signup = {"email": address, "password1": PASSWORD, "password2": PASSWORD}

    answer = requests.post(f"{server.url}/auth/registration/", json=signup, timeout=60)
    line = wait_for_mail_line(server, address)

    assert (answer.status_code, answer.json()) == (201, {"detail": "Verification e-mail sent."})
    link = line.split(" ")[-2]
    assert link.startswith(f"{server.url}/verify-email?key=")
    readable = ROOT / line.rsplit("(", 1)[1].rstrip(")")
    assert readable.suffix == ".txt"
    assert readable.with_suffix(".eml").is_file(), "the message itself stays beside its text"
    text = readable.read_text()
    assert f"To: {address}" in text
    assert link in text.splitlines(), "the link whole on its own line, as printed: copied from the file, it works"
    key = parse_qs(urlsplit(link).query)["key"][0]
    verified = requests.post(
        f"{server.url}/auth/registration/verify-email/", json={"key": key, "password": PASSWORD}, timeout=60
    )
    assert verified.json() == {"detail": "ok"}
    login = requests.post(f"{server.url}/auth/token/", json={"email": address, "password": PASSWORD}, timeout=60)
    assert login.status_code == 200
