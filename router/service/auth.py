"""Bearer-token authentication and per-role authorisation.

Tokens are configured as SHA-256 hashes (``router.config.tokens``); a presented token is
hashed and looked up, so the service never holds the secrets. Browsers cannot set headers
on a websocket, so websockets may pass the token as ``?access_token=``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from router.config.tokens import ApiChannel, Role, TokenSpec
from router.service.http import ApiError

# CPython's own SHA-256: the same digest as OpenSSL's, without making an EVP context
# (the module is ``_sha256`` up to 3.11, ``_sha2`` from 3.12).
try:
    from _sha256 import sha256 as _sha256  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - Python 3.12 or later
    try:
        from _sha2 import sha256 as _sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:  # a build without either
        _sha256 = hashlib.sha256
sha256: Callable[[bytes], Any] = _sha256


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's name and role, and what it is bound to."""

    name: str
    role: Role
    agent: str | None = None
    channels: frozenset[ApiChannel] = frozenset()
    sources: frozenset[str] = frozenset()


class TokenStore:
    def __init__(self, tokens: Iterable[TokenSpec]) -> None:
        self._by_hash = {t.sha256: t for t in tokens}
        # One (frozen) principal per token, made once rather than on every request.
        self._principals = {
            t.sha256: Principal(t.name, t.role, t.agent, t.channels, t.sources)
            for t in self._by_hash.values()
        }

    def __len__(self) -> int:
        return len(self._by_hash)

    def demo_tokens(self) -> list[str]:
        return [t.name for t in self._by_hash.values() if t.demo]

    def identify(self, token: str) -> Principal | None:
        # ``hash_token(token)``, one call less (on every request's path)
        digest: str = sha256(token.encode()).hexdigest()
        spec = self._by_hash.get(digest)
        # The dict lookup is by the hash of the secret, so timing reveals nothing useful;
        # compare once more in constant time for good measure.
        if spec is None or not hmac.compare_digest(spec.sha256, digest):
            return None
        return self._principals[digest]


def presented_token(request: web.Request, allow_query: bool = False) -> str | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        token = value.strip()
        if not token or scheme.lower() != "bearer":
            raise ApiError(401, "unauthorized", "use 'Authorization: Bearer <token>'")
        return token
    # Only websockets may pass the token in the URL: URLs end up in proxy logs.
    return (request.query.get("access_token") or None) if allow_query else None


def authenticate(request: web.Request, tokens: TokenStore, allow_query: bool = False) -> Principal:
    header = request.headers.get("Authorization", "")
    if header:  # ``presented_token``'s first way, read here: one call less a request
        scheme, _, value = header.partition(" ")
        token: str | None = value.strip()
        if not token or scheme.lower() != "bearer":
            raise ApiError(401, "unauthorized", "use 'Authorization: Bearer <token>'")
    else:
        token = presented_token(request, allow_query)
    if token is None:
        raise ApiError(401, "unauthorized", "a bearer token is required")
    principal = tokens.identify(token)
    if principal is None:
        raise ApiError(401, "unauthorized", "the token is not valid")
    return principal


def require(principal: Principal, roles: Iterable[Role], channel: ApiChannel | None = None) -> None:
    allowed = tuple(roles)
    if principal.role not in allowed:
        names = " or ".join(r.value for r in allowed)
        article = "an" if names[0] in "aeiou" else "a"
        raise ApiError(
            403, "forbidden", f"this needs {article} {names} token, not {principal.role.value}"
        )
    if (
        channel is not None
        and principal.role is Role.INTEGRATION
        and channel not in principal.channels
    ):
        raise ApiError(
            403, "forbidden", f"token {principal.name!r} may not use the {channel} channel"
        )
