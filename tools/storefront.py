"""The demo storefront (examples/storefront/) on its own origin, for `make local`.

Static files as a shop's web server would send them, plus ``config.js`` naming the API's
URL (and the local "Google" when `make local` runs one), the page itself at the mail links'
paths (``/verify-email``, ``/reset-password``) and at the local "Google"'s callback, the staff
page at ``/staff``, and a Content-Security-Policy that lets the page's scripts talk to that API
(and that provider) only.
A different port is a different origin: the API answers the page only because `make local`
lists this origin in ``AllowedOrigins``.
"""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.local_oidc import GoogleParameters

ROOT = Path(__file__).resolve().parent.parent / "examples" / "storefront"
# Where the account mails' links land (StorefrontUrl + these paths): the page reads the query.
MAIL_LINK_PATHS = ("/verify-email", "/reset-password")
# Where the local "Google" sends the browser back with its code (tools/local_oidc.py).
GOOGLE_CALLBACK_PATH = "/google-callback"
STAFF_PATH = "/staff"  # the staff page (staff.html): Django admin's customer tasks


class _Handler(SimpleHTTPRequestHandler):
    api_url = ""
    google: dict[str, str] | None = None  # the local "Google" the page signs in with, if any

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in (*MAIL_LINK_PATHS, GOOGLE_CALLBACK_PATH):
            self.path = "/index.html"
        elif path == STAFF_PATH:
            self.path = "/staff.html"
        elif path == "/config.js":
            payload = (
                f"export const API_URL = {self.api_url!r};\nexport const LOCAL_GOOGLE = {json.dumps(self.google)};\n"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header(
            "Content-Security-Policy",
            # img-src data: the enrolment's QR code is an SVG data: URI from the API
            f"default-src 'self'; connect-src {' '.join(self.connect_sources())}; img-src 'self' data:; "
            "frame-ancestors 'none'; "
            "base-uri 'none'",
        )
        self.send_header("Referrer-Policy", "no-referrer")
        super().end_headers()

    def connect_sources(self) -> list[str]:
        """The API, and the local "Google"'s token endpoint (the page trades its code there)."""
        return [self.api_url, *([self.google["issuer"]] if self.google else [])]

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the API's log is the interesting one."""


class Storefront(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, api_url: str, google: GoogleParameters | None = None) -> None:
        page_google = None if google is None else {"issuer": google.issuer, "clientId": google.client_id}
        handler = type("StorefrontHandler", (_Handler,), {"api_url": api_url, "google": page_google})
        super().__init__(("127.0.0.1", port), partial(handler, directory=str(ROOT)))

    def start(self) -> Storefront:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
