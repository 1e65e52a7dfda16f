"""Feed discovery: `/feed add https://example.org/` watches the feed the page names.

The address is fetched once through `bot.net` (the address guard, size and time limits, every
redirect checked). A feed is watched as it is, and what was fetched is handed to its first poll,
so adding a feed still costs one request. An HTML page is searched for
`<link rel="alternate" type="application/rss+xml|application/atom+xml" href=...>`; the first
one it names is watched (it is checked like any address given, and fetched by its first poll
through the same guard), and the answer says which one was chosen and how many others there were.
A page that names no feed is refused with that reason. When the fetch itself fails, the address
is watched anyway (as before discovery existed): its first poll reports the failure and backs off.
"""

from __future__ import annotations

import logging
import aiohttp

from bot import net
from bot.addresses import AddressPolicy
from bot.errors import UserFacingError
from bot.ingest.feeds import feed_links, looks_like_feed
from bot.services.feeds import Prefetched, check_url
from bot.services.views import Discovered

log = logging.getLogger(__name__)

SNIFF = 2048


def _is_html(data: bytes) -> bool:
    head = data[:SNIFF].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head or b"<head" in head


async def discover_feed(
    http: aiohttp.ClientSession, policy: AddressPolicy, url: str, *,
    timeout: float = net.FETCH_TIMEOUT, max_bytes: int = net.MAX_BYTES,
) -> tuple[Discovered, Prefetched | None]:
    """The feed behind an address, and what was fetched of that feed's own address (for its first
    poll): the address itself when it is a feed (or cannot be fetched now), else the first feed
    the HTML page names; a UserFacingError when the page names none."""
    url = check_url(url)
    try:
        fetched = await net.fetch(http, policy, url, timeout=timeout, max_bytes=max_bytes)
    except net.FetchError as exc:
        return Discovered(url=url), exc
    if looks_like_feed(fetched.data) or not _is_html(fetched.data):
        return Discovered(url=url), fetched  # a feed, or something its first poll explains
    links = feed_links(fetched.data, fetched.url or url)
    if not links:
        raise UserFacingError(
            "That address is a web page, not a feed, and the page names no RSS or Atom feed "
            '(no `<link rel="alternate" type="application/rss+xml">` or Atom link). Give the feed\'s own address.'
        )
    chosen, *others = links
    log.info("feed discovery: %s names %d feeds; watching %s", url, len(links), chosen.url)
    found = Discovered(url=check_url(chosen.url), page=url, kind=chosen.kind, title=chosen.title, others=tuple(o.url for o in others))
    return found, None
