"""API keys: where they come from, which endpoints need one, and the check itself.

Keys come from configuration only: ``API_KEYS`` (a list, or one string of keys separated by
commas or whitespace, e.g. ``COMMENT_CLASSIFIER_API_KEYS``) and ``API_KEYS_FILE`` (one key per
line, ``#`` comments), which is read again whenever it changes, so keys rotate without a restart.
Clients send ``Authorization: Bearer <key>``. A key is compared with every configured key in
constant time and is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from pathlib import Path

from flask import Flask, current_app, request

from service.errors import APIError

log = logging.getLogger(__name__)

# Never behind a Bearer key: the probes a load balancer calls; the moderator's page, the API docs
# and their static files (no data in them: a browser cannot send a key to load a page, and the
# page sends the moderator's key with every API call); endpoints with their own authentication:
# Perspective clients send ``?key=`` (checked against the same keys), Coral Talk signs requests.
EXEMPT = frozenset({"/healthz", "/readyz", "/", "/assets/<path:filename>", "/static/<path:filename>",
                    "/openapi.json", "/docs", "/docs/assets/<path:filename>"})
OWN_AUTH_PREFIXES = ("/v1alpha1/", "/$discovery/", "/discovery/", "/v1/coral/")


class MissingKey(APIError):
    status = 401
    code = "missing_api_key"
    headers = {"WWW-Authenticate": 'Bearer realm="comment-classifier"'}


class InvalidKey(APIError):
    status = 403
    code = "invalid_api_key"


class KeysNotConfigured(APIError):
    status = 503
    code = "keys_not_configured"


def _split(value, setting: str = "API_KEYS") -> list[str]:
    """Keys or paths from a setting: a list, or one string separated by commas or whitespace.

    Environment values are parsed as JSON first, so ``12345`` arrives as a number: taken as the
    string it was; ``true``/``false`` are refused, since they are never what was meant.
    """
    if value is None or value == "":
        return []
    if isinstance(value, bool) or (isinstance(value, list) and any(isinstance(v, bool) for v in value)):
        raise ValueError(f"{setting} must be a list of strings or one string separated by commas (got {value!r:.60})")
    if isinstance(value, (int, float)):
        value = str(value)
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{setting} must be a list of strings or one string separated by commas (got {value!r:.60})")
    return [str(key).strip() for key in value if str(key).strip()]


class KeyRing:
    """The configured keys: the setting's, plus the key file's, re-read when the file changes."""

    def __init__(self, keys, path: str | None, setting: str = "API_KEYS"):
        self._static = _split(keys, setting)
        self._path = Path(path) if path else None
        self._stamp = None
        self._from_file: list[str] = []
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        if self._path is None:
            return
        try:
            stat = self._path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError as error:
            if self._stamp != "missing":
                log.error("API key file %s cannot be read (%s); no keys from it", self._path, error.strerror)
            self._stamp, self._from_file = "missing", []
            return
        if stamp == self._stamp:
            return
        with self._lock:
            try:
                lines = self._path.read_text(encoding="utf-8-sig").splitlines()  # a BOM is not part of a key
            except (OSError, UnicodeDecodeError) as error:
                log.error("API key file %s cannot be read (%s); no keys from it", self._path, error)
                self._stamp, self._from_file = stamp, []
                return
            self._from_file = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
            self._stamp = stamp
            log.info("read %d API keys from %s", len(self._from_file), self._path)

    def keys(self) -> list[str]:
        """Every key now configured."""
        self._refresh()
        return self._static + self._from_file

    def matches(self, given: str) -> bool:
        """Whether ``given`` is a configured key, in time that does not depend on which key or
        how much of it matched: digests of equal length, every key compared."""
        given_digest = hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
        results = [hmac.compare_digest(given_digest, hashlib.sha256(key.encode()).digest()) for key in self.keys()]
        return any(results)


def keyring() -> KeyRing:
    return current_app.extensions["api_keys"]


def feedback_keyring() -> KeyRing:
    """The moderators' keys when ``FEEDBACK_API_KEYS``/``_FILE`` are set, else every API key."""
    return current_app.extensions.get("feedback_keys") or keyring()


def bearer_token() -> str | None:
    """The key in this request's ``Authorization: Bearer <key>``, or None when there is none."""
    return bearer_token_of(request.headers.get("Authorization", ""))


def bearer_token_of(header: str) -> str | None:
    """The key in an ``Authorization`` header's value ``Bearer <key>``, or None when there is none."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_key(ring: KeyRing | None = None) -> None:
    """401 without a key, 403 with a wrong one, 503 when the service has no keys at all."""
    ring = ring or keyring()
    if not ring.keys():
        raise KeysNotConfigured(
            "this endpoint needs API keys and none are configured: set COMMENT_CLASSIFIER_API_KEYS "
            "(keys separated by commas) or COMMENT_CLASSIFIER_API_KEYS_FILE (a file with one key per line)"
        )
    token = bearer_token()
    if token is None:
        raise MissingKey("send an API key as 'Authorization: Bearer <key>'")
    if not ring.matches(token):
        raise InvalidKey("the API key is not valid")


def accepts(ring: KeyRing, header: str | None) -> bool:
    """Whether ``require_key`` would let a request with ``Authorization: header`` through."""
    token = bearer_token_of(header or "")
    return token is not None and bool(ring.keys()) and ring.matches(token)


def protects(app: Flask, rule: str) -> bool:
    """Whether ``REQUIRE_API_KEY`` puts the route ``rule`` behind a key."""
    return _protected(rule, _required_paths(app))


def _protected(rule: str, wanted: set[str]) -> bool:
    if rule in EXEMPT or rule.startswith(OWN_AUTH_PREFIXES):
        return False
    if wanted & {"*", "all"}:
        return True
    return rule in wanted or any(rule.startswith(prefix.rstrip("*")) for prefix in wanted if prefix.endswith("*"))


def _required_paths(app: Flask) -> set[str]:
    """``REQUIRE_API_KEY`` as a set of paths; a path no route has is an error at start-up, not a
    silently open endpoint (``/v1/classify/`` for ``/v1/classify``)."""
    wanted = set(_split(app.config.get("REQUIRE_API_KEY"), "REQUIRE_API_KEY"))
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    for path in wanted - {"*", "all"}:
        if path.endswith("*"):
            if not any(rule.startswith(path[:-1]) for rule in rules):
                raise ValueError(f"REQUIRE_API_KEY: no endpoint starts with {path[:-1]!r}")
        elif path not in rules:
            raise ValueError(f"REQUIRE_API_KEY: {path!r} is not an endpoint (endpoints: "
                             f"{', '.join(sorted(r for r in rules if r.startswith('/v1/')))}, ...)")
    return wanted


def init_app(app: Flask) -> None:
    """Hold the key rings and check keys before the endpoints ``REQUIRE_API_KEY`` names.

    Call it after the blueprints are registered: the paths are checked against the routes.
    """
    app.extensions["api_keys"] = KeyRing(app.config.get("API_KEYS"), app.config.get("API_KEYS_FILE"))
    if app.config.get("FEEDBACK_API_KEYS") or app.config.get("FEEDBACK_API_KEYS_FILE"):
        app.extensions["feedback_keys"] = KeyRing(app.config.get("FEEDBACK_API_KEYS"),
                                                  app.config.get("FEEDBACK_API_KEYS_FILE"), "FEEDBACK_API_KEYS")
    wanted = _required_paths(app)
    if not wanted:
        return

    @app.before_request
    def _check_key():
        rule = request.url_rule
        if rule is not None and _protected(rule.rule, wanted):
            require_key()
        return None

