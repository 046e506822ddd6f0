"""Which redirects a connector follows: only within the site it was pointed at.

A feed's owner can answer with any ``Location``. Followed blindly, a redirect can point a
connector at an address on the daemon's own network (``http://169.254.169.254/``, an admin
page on ``localhost``) and store what it says as mentions, carry custom headers to another
host, or move a request from https to plain http. Real feeds redirect within their own site
(``http`` -> ``https``, ``example.com`` -> ``www.example.com``, an old path to a new one), so
the rule is:

- the target is http or https, and never http when the request was https;
- its host is the same host, or shares the registrable domain: the last two labels, or three
  under a country's common second level (``bbc.co.uk``). This is an approximation of the Public
  Suffix List, strict where it errs, except that tenants of one hosting domain
  (``a.github.io``, ``b.github.io``) count as one site. An IP address or a one-label name
  (``localhost``) matches only itself. Ports are not compared (another port on the same
  host is the same owner's).

A feed that moved to another site is best fixed by pointing the connector at its new URL;
``allow_cross_site_redirects = true`` follows such redirects anyway. The redirect count is
capped by ``requests`` (``Session.max_redirects``).
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

# Second-level labels that countries use as public suffixes (co.uk, com.au, ne.jp, ...).
_COUNTRY_SECOND_LEVEL = frozenset({"ac", "co", "com", "edu", "go", "gov", "ne", "net", "or", "org"})


class CrossSiteRedirect(requests.RequestException):
    """A redirect the same-site rule refuses; the message names the target (no query)."""


def _site(host: str) -> str:
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    labels = host.split(".")
    if len(labels) < 2:
        return host
    keep = 3 if len(labels[-1]) == 2 and labels[-2] in _COUNTRY_SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def same_site(origin: str, target: str) -> bool:
    """Whether a redirect from ``origin`` to ``target`` stays within the site (rule above)."""
    before, after = urlsplit(origin), urlsplit(target)
    if after.scheme not in ("http", "https") or (before.scheme, after.scheme) == ("https", "http"):
        return False
    if not before.hostname or not after.hostname:
        return False
    return _site(before.hostname) == _site(after.hostname)


def refuse_cross_site(response: requests.Response, **_: Any) -> requests.Response:
    """A ``requests`` response hook: it runs on every hop before the redirect is followed."""
    location = response.headers.get("Location") if response.is_redirect else None
    if location is None:
        return response
    target = urljoin(response.url, location)
    if not same_site(response.url, target):
        response.close()
        parts = urlsplit(target)  # shown without credentials or query: they may be secrets
        shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
        raise CrossSiteRedirect(
            f"redirected to another site ({shown}); point the connector at that URL if it is "
            "the feed's new home, or set allow_cross_site_redirects = true"
        )
    return response


def guard(session: requests.Session) -> None:
    """Make ``session`` refuse redirects that leave the site."""
    hooks = session.hooks.setdefault("response", [])
    if refuse_cross_site not in hooks:
        hooks.append(refuse_cross_site)
