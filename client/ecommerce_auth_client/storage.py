"""Where the client keeps its tokens: in memory by default, or in a private file for CLIs.

A store is the client's single source of truth for the pair. ``load()`` may be called from
many threads at once; ``save()`` and ``clear()`` are only called under the client's refresh
lock, so a store needs no locking of its own beyond what makes ``load()`` see either the old
or the new pair, never half of one.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path
from typing import Protocol

from ecommerce_auth_client.tokens import Tokens

logger = logging.getLogger("ecommerce_auth_client")


class TokenStore(Protocol):
    """Keeps one token pair: what ``APIClient(store=...)`` accepts."""

    def load(self) -> Tokens | None:
        """The stored pair, or None when there is none (never logged in, or logged out)."""

    def save(self, tokens: Tokens) -> None:
        """Replace the stored pair."""

    def clear(self) -> None:
        """Forget the pair."""


class MemoryTokenStore:
    """The pair in this process only: gone when the process ends (the default)."""

    def __init__(self) -> None:
        self._tokens: Tokens | None = None

    def load(self) -> Tokens | None:
        return self._tokens

    def save(self, tokens: Tokens) -> None:
        self._tokens = tokens

    def clear(self) -> None:
        self._tokens = None


class FileTokenStore:
    """The pair in a JSON file readable by its owner only (0600), so a CLI stays logged in.

    Writes go to a temporary file created 0600 and renamed over the target, so a reader (or
    a crash) never sees a partial file and the tokens are never, even briefly, readable by
    others. A file found with wider permissions is tightened to 0600 and a warning is logged.
    The refresh lock is per client: two processes sharing one file can both refresh with the
    same refresh token, and with rotation the server then ends the session (log in again).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()

    def load(self) -> Tokens | None:
        try:
            self._tighten()
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return Tokens(access=data["access"], refresh=data["refresh"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            logger.warning("token file %s is unreadable; ignoring it (log in again)", self.path)
            return None

    def save(self, tokens: Tokens) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(8)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                if os.name == "posix":
                    os.fchmod(file.fileno(), 0o600)  # 0600 exactly, whatever the umask
                json.dump({"refresh": tokens.refresh, "access": tokens.access}, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def _tighten(self) -> None:
        """Repair a file that others can read (copied, restored from a backup, chmod-ed)."""
        if os.name != "posix":
            return
        mode = self.path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(self.path, 0o600)
            logger.warning("token file %s had mode %o; reset to 600", self.path, mode)
