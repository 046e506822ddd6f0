"""A stand-in for Google's token endpoint and Play Developer ``reviews.list``, checking RS256
assertions, in the documented shapes (cited in ``test_connector_googleplay_developer.py``). Its
tests, the contract suite and the config runs share it, so each source's fake is written once
and no test module imports another."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jwtcheck import pem, verify
from localserver import LocalServer, Reply, Request


NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
PACKAGE = "com.acme.shop"
PATH = f"/androidpublisher/v3/applications/{PACKAGE}/reviews"
EMAIL = "sentimon-reviews@acme-cx.iam.gserviceaccount.com"


def review(n: int, text: str = "Checkout keeps failing with my card", stars: int = 1, replied: bool = False) -> dict:
    modified = {"seconds": str(int((NOW + timedelta(minutes=n)).timestamp())), "nanos": 250000000}
    comments: list[dict] = [{"userComment": {
        "text": text, "lastModified": modified, "starRating": stars, "reviewerLanguage": "en_GB",
        "device": "a52q", "androidOsVersion": 34, "appVersionCode": 512, "appVersionName": "5.12.0",
        "thumbsUpCount": 3, "thumbsDownCount": 0,
        "deviceMetadata": {"productName": "Galaxy A52", "manufacturer": "Samsung", "deviceClass": "phone"},
    }}]
    if replied:
        comments.append({"developerComment": {"text": "Sorry! Fixed in 5.13", "lastModified": modified}})
    return {"reviewId": f"gp:AOqpTO{n:08d}", "authorName": f"User {n}", "comments": comments}


def google_error(code: int, status: str) -> Reply:
    return Reply.json({"error": {"code": code, "message": "The caller does not have permission", "status": status}}, code)


class Google:
    """The token endpoint and ``reviews.list`` over ``items`` (newest ``lastModified`` first,
    ``maxResults`` a page, numeric page tokens); only tokens it issued are accepted."""

    def __init__(self, server: LocalServer, items: list[dict], public_key: Any) -> None:
        self.server, self.items, self.public_key = server, items, public_key
        self.issued: list[str] = []
        self.exchanges = 0
        server.add("/token", self.token, method="POST")
        server.add(PATH, self.reviews)

    def token(self, request: Request) -> Reply:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        try:
            header, claims = verify(form.get("assertion", "..."), self.public_key)
        except (ValueError, KeyError):
            return Reply.json({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400)
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or header.get("kid") != "k1" \
                or claims.get("iss") != EMAIL or claims.get("aud") != self.server.url + "/token" \
                or claims.get("scope") != "https://www.googleapis.com/auth/androidpublisher" \
                or not 0 < claims["exp"] - claims["iat"] <= 3600:
            return Reply.json({"error": "invalid_grant", "error_description": "Invalid JWT."}, 400)
        self.exchanges += 1
        self.issued.append(f"ya29.token-{self.exchanges}")
        return Reply.json({"access_token": self.issued[-1], "expires_in": 3599, "token_type": "Bearer"})

    def reviews(self, request: Request) -> Reply:
        if (request.header("Authorization") or "").removeprefix("Bearer ") not in self.issued:
            return google_error(401, "UNAUTHENTICATED")
        def modified(r: dict) -> int:
            try:
                return int(r["comments"][0]["userComment"]["lastModified"]["seconds"])
            except (KeyError, IndexError, TypeError, ValueError):
                return 0
        ordered = sorted(self.items, key=modified, reverse=True)
        start, size = int(request.query.get("token") or 0), int(request.query["maxResults"])
        body: dict[str, Any] = {"pageInfo": {"totalResults": len(ordered), "resultPerPage": size, "startIndex": start}}
        if ordered[start:start + size]:
            body["reviews"] = ordered[start:start + size]
        if start + size < len(ordered):
            body["tokenPagination"] = {"nextPageToken": str(start + size)}
        return Reply.json(body)


def account_file(tmp_path: Path, server: LocalServer, key: Any, **fields: Any) -> Path:
    path = tmp_path / "acme-cx-1a2b3c.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "acme-cx", "private_key_id": "k1", "private_key": pem(key),
        "client_email": EMAIL, "client_id": "1234567890", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": server.url + "/token", **fields,
    }))
    return path
