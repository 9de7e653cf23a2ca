"""Absolute URLs: every link the portal hands out is built on the configured public URL, never on a request's Host."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from portal.settings import Settings

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class PublicUrlMissing(RuntimeError):
    """A production setting without PUBLIC_URL: links would have no trustworthy host, so the portal does not start."""


def is_production(settings: Settings) -> bool:
    """HTTPS on, or listening beyond this machine: people reach the portal by a name only PUBLIC_URL knows."""
    return settings.https or settings.host not in LOOPBACK


def public_base(settings: Settings) -> str:
    """`scheme://host[:port]` without a trailing slash: PUBLIC_URL, or http://HOST:PORT in development."""
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PublicUrlMissing(f"PUBLIC_URL must look like https://portal.example.nl, not {settings.public_url!r}")
        return settings.public_url.rstrip("/")
    if is_production(settings):
        raise PublicUrlMissing("Set PUBLIC_URL (e.g. https://portal.example.nl): with PORTAL_HTTPS on or a "
                               "non-loopback HOST, links in mail must not depend on the request's Host header.")
    return f"{'https' if settings.https else 'http'}://{settings.host}:{settings.port}"


def absolute_url(settings: Settings, path: str) -> str:
    """The one builder of absolute links (mail, feeds, schemas): the public base plus an app path."""
    return public_base(settings) + "/" + path.lstrip("/")


def allowed_hosts(settings: Settings) -> list[str]:
    """Host header values the portal answers (Litestar's AllowedHostsConfig matches `host[:port]` exactly)."""
    parts = urlsplit(public_base(settings))
    hosts = {parts.netloc}
    if parts.port is None:
        hosts.add(f"{parts.hostname}:{443 if parts.scheme == 'https' else 80}")
    if not is_production(settings):  # a loopback server is reached only from this machine, by either name
        hosts |= {f"{name}:{settings.port}" for name in ("127.0.0.1", "localhost")}
    return sorted(hosts)


def own_page(settings: Settings, url: str) -> str | None:
    """The path and query of `url` when it is one of the portal's own pages (a relative URL, or one on an allowed
    host), else None: e.g. the page an htmx request says it came from, before sign-in sends someone back there."""
    parts = urlsplit(url)
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    if parts.netloc and parts.netloc not in allowed_hosts(settings):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
