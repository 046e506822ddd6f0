"""Signed JSON Web Tokens for the stores' own APIs (App Store Connect, Google Play Developer).

Both stores authenticate with a JWT signed by a private key the team downloads once: Apple's
``.p8`` (ES256, sent as the bearer token itself) and a Google service account's key (RS256,
exchanged for an access token). A JWT is three base64url parts, so minting one is a few lines
over ``cryptography``; PyJWT would add a dependency for nothing we need.

``cryptography`` is a compiled package of about 16 MB, needed only by these two connectors, so
it is the optional extra ``sentimon[stores]`` and is imported only when such a connector is
built; without it the error names the command that installs it.
"""

from __future__ import annotations

import base64
import importlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from sentimon.errors import ConfigError

INSTALL_HINT = "pip install 'sentimon[stores]'"


def _crypto(type_name: str) -> dict[str, ModuleType]:
    """The cryptography modules used here, or ConfigError naming the extra to install."""
    try:
        return {
            name: importlib.import_module(f"cryptography.hazmat.primitives.{name}")
            for name in ("hashes", "serialization", "asymmetric.ec", "asymmetric.padding",
                         "asymmetric.rsa", "asymmetric.utils")
        }
    except ImportError:
        raise ConfigError(
            f"the {type_name} connector needs the optional cryptography package: {INSTALL_HINT}"
        ) from None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _part(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())


class Signer:
    """A private key that signs JWTs: ES256 for an EC P-256 key, RS256 for an RSA key.

    Built from the key's PEM text; a key that cannot be read is a ConfigError that says what
    was expected and never shows the key."""

    def __init__(self, pem: str | bytes, *, type_name: str, what: str) -> None:
        self._c = _crypto(type_name)
        data = pem.encode() if isinstance(pem, str) else pem
        try:
            key = self._c["serialization"].load_pem_private_key(data.strip(), password=None)
        except (ValueError, TypeError):
            raise ConfigError(
                f"{what} is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)"
            ) from None
        ec, rsa = self._c["asymmetric.ec"], self._c["asymmetric.rsa"]
        if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
            self.alg = "ES256"
        elif isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
            self.alg = "RS256"
        else:
            raise ConfigError(f"{what} must be an EC P-256 (ES256) or RSA 2048+ (RS256) key")
        self._key = key

    def sign(self, payload: bytes) -> bytes:
        sha256 = self._c["hashes"].SHA256()
        if self.alg == "RS256":
            return self._key.sign(payload, self._c["asymmetric.padding"].PKCS1v15(), sha256)
        der = self._key.sign(payload, self._c["asymmetric.ec"].ECDSA(sha256))
        # JWS wants r || s, 32 bytes each, not the DER sequence cryptography returns (RFC 7518 3.4)
        r, s = self._c["asymmetric.utils"].decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def jwt(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        header: dict[str, Any] = {"alg": self.alg, "typ": "JWT"}
        if kid:
            header["kid"] = kid
        signing_input = f"{_part(header)}.{_part(claims)}"
        return f"{signing_input}.{b64url(self.sign(signing_input.encode('ascii')))}"


def read_key_file(path: Path, what: str) -> str:
    """A key file's text; ConfigError with the path (never the contents) when unreadable."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(f"{what}: cannot read {path}: {reason}") from None


@dataclass
class CachedToken:
    """A credential reused until ``margin`` seconds before it expires, then made again, so a
    daemon signs (or exchanges) a token a few times an hour, not once per request."""

    make: Callable[[], tuple[str, float]]  # -> (token, expires at, epoch seconds)
    margin: float = 60.0
    clock: Callable[[], float] = time.time
    _token: str | None = None
    _expires: float = 0.0

    def get(self) -> str:
        if self._token is None or self.clock() >= self._expires - self.margin:
            self._token, self._expires = self.make()
        return self._token

    def forget(self) -> None:
        """Drop the token (the server refused it); the next ``get`` makes a new one."""
        self._token = None
