"""The one way postbot reaches the network: a guarded HTTP session and `fetch`.

Server admins hand the bot URLs (`/feed add`), so every request could be an attempt to make the
bot probe its own network (SSRF). An `AddressPolicy` (bot.addresses: the FEED_ALLOW_PRIVATE_HOSTS
setting) decides which addresses may be reached; this module enforces it where the address is
finally known:

* the session's resolver checks every address every host name resolves to (so a name pointing
  at 10.0.0.1, or re-pointed there later, is refused before any socket is opened);
* IP-literal hosts never reach a resolver, so `fetch` checks them on every hop - and the
  session's connector checks them again on every connection as a second line;
* `fetch` follows redirects itself, one checked hop at a time; aiohttp's own redirect handling
  checks nothing after the first URL, which is how `302 Location: http://10.1.2.3/` got through.

No discord imports here; aiohttp and the standard library only.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass

import aiohttp
from yarl import URL

from bot.addresses import AddressPolicy, AddressRefused, literal_address

__all__ = [
    "FEED_ACCEPT",
    "FETCH_TIMEOUT",
    "MAX_BYTES",
    "MAX_REDIRECTS",
    "USER_AGENT",
    "Fetched",
    "FetchError",
    "GuardedResolver",
    "fetch",
    "http_session",
]

USER_AGENT = "postbot (+feed watcher)"
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
FETCH_TIMEOUT = 30.0  # seconds for the whole fetch: every hop, body included
MAX_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(Exception):
    """A fetch that failed; the message is the one-line reason shown in `/feed status`."""


class GuardedResolver(aiohttp.ThreadedResolver):
    """aiohttp's resolver, checking every address a name resolves to against the policy.

    This is the robust place for names: every connection of the session - first URL, every
    redirect, every re-resolution after the DNS cache expires - goes through it.
    """

    def __init__(self, policy: AddressPolicy) -> None:
        super().__init__()
        self.policy = policy

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET):
        infos = await super().resolve(host, port, family)
        for info in infos:  # one bad address refuses the name: no racing to the private one
            self.policy.check(host, info["host"])
        return infos


class _GuardedConnector(aiohttp.TCPConnector):
    """Checks IP-literal hosts on every connection; they skip the resolver."""

    def __init__(self, policy: AddressPolicy) -> None:
        super().__init__(resolver=GuardedResolver(policy))
        self.policy = policy

    async def connect(self, req, *args, **kwargs):
        host = req.url.raw_host
        try:
            address = literal_address(host) if host else None
            if address is not None:
                self.policy.check(None, address)
        except AddressRefused as refused:
            raise aiohttp.ClientConnectorError(req.connection_key, refused) from None
        return await super().connect(req, *args, **kwargs)


def http_session(policy: AddressPolicy) -> aiohttp.ClientSession:
    """A session that cannot reach addresses the policy refuses, whatever URL it is given.

    Environment proxies are ignored (trust_env=False): a proxy would do the connecting, and
    the guard would then see only the proxy's address.
    """
    return aiohttp.ClientSession(
        connector=_GuardedConnector(policy),
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
    )


@dataclass(frozen=True)
class Fetched:
    """One successful fetch. `url` is where the body finally came from, after redirects."""

    not_modified: bool
    data: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    url: str = ""


def _status(response: aiohttp.ClientResponse) -> str:
    return f"HTTP {response.status} {response.reason or ''}".rstrip()


def _size(n: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _shown(url: URL) -> str:
    """A URL as an admin may see it: no credentials, not overly long."""
    text = str(url.with_user(None).with_fragment(None)) if url.raw_host else str(url)
    return text if len(text) <= 200 else text[:199] + "…"


def _check_hop(policy: AddressPolicy, url: URL, redirect: bool) -> None:
    """Scheme and (for IP literals) address of one hop, before anything connects."""
    prefix = f"redirect to {_shown(url)} refused: " if redirect else ""
    if url.scheme not in ("http", "https") or not url.raw_host:
        if redirect:
            raise FetchError(prefix + "only http:// and https:// URLs are fetched")
        raise FetchError(f"{_shown(url)} is not an http:// or https:// URL")
    try:
        address = literal_address(url.raw_host)
        if address is not None:
            policy.check(None, address)
    except AddressRefused as refused:
        raise FetchError(prefix + refused.reason) from None


def _os_reason(error: OSError) -> str:
    if isinstance(error, socket.gaierror) or not error.errno or error.errno < 0:
        return error.strerror or str(error) or "the name does not resolve"
    return os.strerror(error.errno)


def _describe(exc: aiohttp.ClientError, url: URL, redirect: bool) -> str:
    """One line for an aiohttp failure, without exception class names."""
    host = url.host or str(url)
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, AddressRefused):
            return (f"redirect to {_shown(url)} refused: " if redirect else "") + exc.os_error.reason
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return f"could not connect to {host}: its TLS certificate is not valid ({exc.certificate_error})"
        if isinstance(exc, aiohttp.ClientSSLError):
            return f"could not connect to {host}: TLS failed ({_os_reason(exc.os_error)})"
        return f"could not connect to {host}: {_os_reason(exc.os_error)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{host} closed the connection without answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"the response from {host} was cut off or garbled"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"{_shown(url)} is not a valid URL"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{host} sent an invalid HTTP response ({exc.message or exc.status})"
    if isinstance(exc, aiohttp.ClientOSError):
        return f"the connection to {host} failed: {_os_reason(exc)}"
    return f"could not fetch {_shown(url)}: {exc or 'the connection failed'}"


async def fetch(
    session: aiohttp.ClientSession,
    policy: AddressPolicy,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = FETCH_TIMEOUT,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
) -> Fetched:
    """GET `url` with If-None-Match / If-Modified-Since, following redirects one checked hop at a time.

    `session` must come from `http_session(policy)`: its resolver is what checks host names.
    `timeout` covers the whole fetch; the body is streamed and dropped past `max_bytes`.
    Raises FetchError with the reason an admin reads.
    """
    connector = session.connector
    if not isinstance(connector, _GuardedConnector) or connector.policy != policy:
        raise TypeError("fetch() needs a session made by http_session() with the same policy")
    headers = {"Accept": FEED_ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        current = URL(url.strip())
    except (ValueError, TypeError):
        raise FetchError(f"{url[:200]!r} is not a valid URL") from None
    try:
        async with asyncio.timeout(timeout):
            for hop in range(max_redirects + 1):
                _check_hop(policy, current, redirect=hop > 0)
                try:
                    # No aiohttp timeouts: the one deadline above covers every hop and the body.
                    async with session.get(
                        current, headers=headers, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=None)
                    ) as response:
                        if response.status not in _REDIRECTS:
                            return await _read(response, current, etag, last_modified, max_bytes)
                        location = response.headers.get("Location")
                        if not location:
                            raise FetchError(f"{_status(response)} without a Location header")
                        try:
                            current = current.join(URL(location)).with_fragment(None)
                        except (ValueError, TypeError):
                            bad = f"{_status(response)}: redirect to an invalid address {location[:200]!r}"
                            raise FetchError(bad) from None
                except aiohttp.ClientError as exc:
                    raise FetchError(_describe(exc, current, redirect=hop > 0)) from None
    except TimeoutError:
        raise FetchError(f"timed out after {timeout:g} s") from None
    raise FetchError(f"too many redirects (more than {max_redirects})")


async def _read(
    response: aiohttp.ClientResponse, url: URL, etag: str | None, last_modified: str | None, max_bytes: int
) -> Fetched:
    if response.status == 304:
        return Fetched(
            not_modified=True,
            etag=response.headers.get("ETag") or etag,
            last_modified=response.headers.get("Last-Modified") or last_modified,
            url=str(url),
        )
    if response.status >= 300 or response.status < 200:
        raise FetchError(_status(response))
    limit = _size(max_bytes)
    if response.content_length is not None and response.content_length > max_bytes:
        raise FetchError(f"the response is larger than {limit} ({_size(response.content_length)}); not reading it")
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > max_bytes:  # counts decompressed bytes, so a gzip bomb stops here too
            raise FetchError(f"the response is larger than {limit}; stopped reading")
        chunks.append(chunk)
    return Fetched(
        not_modified=False,
        data=b"".join(chunks),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        url=str(url),
    )
