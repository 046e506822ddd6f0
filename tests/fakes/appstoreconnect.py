"""A stand-in for Apple's App Store Connect ``customerReviews`` API, checking ES256 tokens as Apple
does, in the documented shapes (cited in ``test_connector_appstoreconnect.py``). Its tests, the
contract suite and the config runs share it, so each source's fake is written once and no test
module imports another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jwtcheck import verify
from localserver import LocalServer, Reply, Request


BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
APP = "1321994487"
PATH = f"/v1/apps/{APP}/customerReviews"


ISSUER, KEY_ID = "57246542-96fe-1a63-e053-0824d011072a", "2X9R4HXF34"


def review(n: int, body: str = "Checkout crashes every time since the update", rating: int = 1) -> dict:
    created = (BASE + timedelta(minutes=n)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S-00:00")
    rid = f"00000028-b08c-0014-729e-{n:012d}"
    return {
        "type": "customerReviews", "id": rid,
        "attributes": {"rating": rating, "title": f"Review {n}", "body": body,
                       "reviewerNickname": f"shopper{n}", "createdDate": created, "territory": "GBR"},
        "relationships": {"response": {"links": {"self": f"https://api.appstoreconnect.apple.com/v1/customerReviews/{rid}/relationships/response"}}},
        "links": {"self": f"https://api.appstoreconnect.apple.com/v1/customerReviews/{rid}"},
    }


def apple_error(status: int, code: str) -> Reply:
    return Reply.json({"errors": [{"id": "e1", "status": str(status), "code": code,
                                   "title": "Authentication credentials are missing or invalid.",
                                   "detail": "Provide a properly configured and signed bearer token."}]}, status)


class Reviews:
    """customerReviews over ``items``: newest first, ``limit`` a page, ``links.next`` an absolute
    URL with an opaque cursor; refuses any request whose token Apple would refuse."""

    def __init__(self, server: LocalServer, items: list[dict], public_key: Any) -> None:
        self.server, self.items, self.public_key = server, items, public_key
        self.tokens: list[str] = []

    def __call__(self, request: Request) -> Reply:
        token = (request.header("Authorization") or "").removeprefix("Bearer ")
        try:
            header, claims = verify(token, self.public_key)
        except (ValueError, KeyError):
            return apple_error(401, "NOT_AUTHORIZED")
        if (header.get("kid"), claims.get("iss"), claims.get("aud")) != (KEY_ID, ISSUER, "appstoreconnect-v1") \
                or not 0 < claims["exp"] - claims["iat"] <= 1200:
            return apple_error(401, "NOT_AUTHORIZED")
        self.tokens.append(token)
        ordered = sorted(self.items, key=lambda r: str(r.get("attributes", {}).get("createdDate", "")), reverse=True)
        start, size = int(request.query.get("cursor") or 0), int(request.query["limit"])
        body: dict[str, Any] = {"data": ordered[start:start + size],
                                "links": {"self": self.server.url + PATH},
                                "meta": {"paging": {"total": len(ordered), "limit": size}}}
        if start + size < len(ordered):
            body["links"]["next"] = f"{self.server.url}{PATH}?cursor={start + size}&limit={size}&sort=-createdDate"
        return Reply.json(body)
