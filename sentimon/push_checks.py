"""The push endpoint's checks on a request, cheapest first: bearer token, content type, declared
length, then the body itself within its cap and deadline.

Plain functions of the request head (and body stream), kept apart from routing and replies
(``push_handler``) so each limit reads, and can be changed, on its own. Each refusal is a
``RequestError`` carrying the status the sender gets.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from email.message import Message

from sentimon.push_http import BODY_TIMEOUT, FramingError, read_chunked
from sentimon.push_parse import RequestError


def token_digest(value: str) -> bytes:
    """Comparing fixed-length digests keeps even the token's length out of the timing."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def authorized(headers: Message, digest: bytes) -> bool:
    """Exactly one ``Authorization: Bearer <token>`` whose token has ``digest``."""
    values = headers.get_all("Authorization") or []
    scheme, _, presented = (values[0] if len(values) == 1 else "").strip().partition(" ")
    # The digest comparison runs for every request, token or not, so timing tells nothing.
    good = hmac.compare_digest(token_digest(presented.strip()), digest)
    return good and scheme.lower() == "bearer"


def check_content_type(headers: Message) -> None:
    """JSON (``application/json`` or ``application/*+json``) in UTF-8, else 415."""
    media, _, params = (headers.get("Content-Type") or "").partition(";")
    media = media.strip().lower()
    charset = next((p.split("=", 1)[1].strip().strip('"').lower() for p in params.split(";")
                    if p.strip().lower().startswith("charset=")), "utf-8")
    json_like = media.startswith("application/") and media.endswith("+json")
    if media != "application/json" and not json_like:
        raise RequestError(415, "expected Content-Type: application/json")
    if charset not in ("utf-8", "utf8"):
        raise RequestError(415, "expected UTF-8 JSON (charset=utf-8)")


def declared_length(headers: Message, max_body: int) -> int | None:
    """The Content-Length, checked against the cap before any of the body is read; None for a
    chunked body (capped while it is read). Ambiguous framing is refused: it is how requests
    are smuggled past a proxy."""
    lengths = headers.get_all("Content-Length") or []
    if len(set(lengths)) > 1:
        raise RequestError(400, "conflicting Content-Length headers")
    length = lengths[0] if lengths else None
    chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
    if chunked and length is not None:
        raise RequestError(400, "both Content-Length and Transfer-Encoding sent")
    if chunked:
        return None
    if length is None:
        raise RequestError(411, "Content-Length required")
    if not length.strip().isdigit():
        raise RequestError(400, "Content-Length is not a number")
    if int(length) > max_body:
        raise RequestError(413, f"body of {int(length)} bytes; at most {max_body}")
    return int(length)


def read_body(rfile: io.BufferedIOBase, length: int | None, max_body: int) -> bytes:
    """The whole body: ``length`` bytes, or chunks up to ``max_body`` when ``length`` is None.
    A 408 means the deadline passed (the reader's), so nothing more is worth waiting for."""
    try:
        body = read_chunked(rfile, max_body) if length is None else rfile.read(length)
    except TimeoutError:
        raise RequestError(408, f"body not received within {BODY_TIMEOUT:.0f}s") from None
    except FramingError as exc:
        raise RequestError(exc.status, str(exc)) from None
    if length is not None and len(body) != length:
        raise RequestError(400, "body shorter than its Content-Length")
    return body
