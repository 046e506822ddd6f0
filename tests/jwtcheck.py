"""Keys and a JWT verifier for the store connectors' tests: what Apple's and Google's servers do
with a token (check the signature with the public key, read the claims), done for real with
``cryptography`` on keys generated per test, so a wrong signature encoding fails here too."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: Any) -> str:
    """PKCS#8 PEM, the form of Apple's .p8 files and of a service account's private_key."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify(token: str, public_key: Any) -> tuple[dict, dict]:
    """(header, claims) of ``token`` if its signature is valid for ``public_key``, else raise
    ValueError: ES256 signatures must be the 64-byte r || s of RFC 7518, not DER."""
    head, body, signature = token.split(".")
    header = json.loads(_unb64(head))
    signed, raw = f"{head}.{body}".encode(), _unb64(signature)
    try:
        if header["alg"] == "ES256":
            if len(raw) != 64:
                raise ValueError(f"ES256 signature is {len(raw)} bytes, not 64")
            der = utils.encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            public_key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
        elif header["alg"] == "RS256":
            public_key.verify(raw, signed, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise ValueError(f"unexpected alg {header['alg']}")
    except InvalidSignature:
        raise ValueError("bad signature") from None
    return header, json.loads(_unb64(body))
