"""RSS/Atom feeds -> ParsedPost, through feedparser.

Pure: the caller fetches the bytes. Entries become posts in the same shape as post files
(``bot.ingest.posts``), so the loader and the store treat both alike. Feeds carry no reader
comments, only sometimes a count (``thr:total``), kept as ``declared_comments``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import feedparser

from bot.errors import ParseError

from bot.ingest.posts import ParsedPost

log = logging.getLogger(__name__)

__all__ = ["FeedLink", "FeedParseError", "FeedResult", "entry_image", "feed_links", "html_to_text", "looks_like_feed", "parse_feed"]


@dataclass
class FeedResult:
    title: str | None
    posts: list[ParsedPost]
    warnings: list[str] = field(default_factory=list)
    images: list[str | None] = field(default_factory=list)  # each post's picture (`entry_image`), in the order of `posts`


class FeedParseError(ParseError):
    """The data is not an RSS/Atom feed (or nothing usable could be read from it)."""


SNIFF_BYTES = 64 * 1024  # a prolog (comments, a stylesheet, a DOCTYPE) longer than this is not a feed's
_PROLOG = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)", re.S | re.I)
_FEED_ROOT = re.compile(rb"\s*<(?:[\w.-]+:)?(?:rss|feed|rdf)\b", re.I)


def looks_like_feed(data: bytes | str) -> bool:
    """Whether the document's first element is <rss>, <feed> or <rdf:RDF>, whatever comes before it
    (an XML declaration, comments, processing instructions, a DOCTYPE): how the loader tells feed
    files from post files without parsing either."""
    head = data[:SNIFF_BYTES]
    if isinstance(head, str):
        head = head.encode("utf-8", "replace")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", "replace").encode("utf-8", "replace")
    head = head.removeprefix(b"\xef\xbb\xbf")
    pos = 0
    while (prolog := _PROLOG.match(head, pos)) is not None and prolog.end() > pos:
        pos = prolog.end()
    return _FEED_ROOT.match(head, pos) is not None


# --- HTML -> readable text -------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    "p div section article header footer aside main nav blockquote pre figure figcaption "
    "h1 h2 h3 h4 h5 h6 ul ol dl dt dd table thead tbody tfoot tr hr address details summary".split()
)
_SKIP_TAGS = frozenset("script style noscript template head title iframe object embed svg math".split())
_SPACES = re.compile(r"[ \t\r\n\f\v]+")  # not \xa0: a non-breaking space is meant to stay
_PARA_BREAK = "\x00"  # internal markers; the text itself never holds NUL
_LINE_BREAK = "\x01"


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag == "br":
            self.parts.append(_LINE_BREAK)
        elif tag == "li":
            self.parts.append(_LINE_BREAK + "- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARA_BREAK)
            if tag == "pre":
                self.pre += 1

    def handle_startendtag(self, tag, attrs):
        if tag not in _SKIP_TAGS:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARA_BREAK)
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        if self.skip:
            return
        data = data.replace(_PARA_BREAK, "").replace(_LINE_BREAK, "")
        if self.pre:
            data = data.replace("\n", _LINE_BREAK)
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable text: paragraphs joined by "\\n\\n", lines by "\\n", entities decoded.

    Scripts and styles are dropped, runs of spaces collapsed, <br> kept as a line break
    (two in a row make a paragraph break, as Blogger uses them), list items as "- ".
    """
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    raw = "".join(parser.parts)
    raw = raw.replace(_LINE_BREAK * 2, _PARA_BREAK)
    paragraphs = []
    for chunk in raw.split(_PARA_BREAK):
        lines = [_SPACES.sub(" ", line).strip() for line in chunk.split(_LINE_BREAK)]
        lines = [line for line in lines if line]
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _plain(detail_value: str | None, detail_type: str | None) -> str:
    if not detail_value:
        return ""
    if detail_type and "html" in detail_type:
        return " ".join(html_to_text(detail_value).split())
    return " ".join(detail_value.split())


# --- entries -----------------------------------------------------------------------------


def _when(obj) -> dt.datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = obj.get(key)
        if value:
            return dt.datetime.fromtimestamp(calendar.timegm(value), dt.timezone.utc)
    return None


def _body(entry) -> str:
    for item in entry.get("content") or []:
        if item.get("value"):
            return _content_text(item["value"], item.get("type"))
    detail = entry.get("summary_detail") or {}
    return _content_text(entry.get("summary") or "", detail.get("type", "text/html"))


def _content_text(value: str, kind: str | None) -> str:
    if kind and "html" not in kind and "xml" not in kind:
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", value)]
        return "\n\n".join(p for p in paragraphs if p)
    return html_to_text(value)


def _int_or_none(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _entry_post(entry, index: int, feed_title: str | None, feed_when: dt.datetime | None,
                warnings: list[str]) -> ParsedPost | None:
    title_detail = entry.get("title_detail") or {}
    title = _plain(entry.get("title"), title_detail.get("type"))
    body = _body(entry)
    label = f"entry {index + 1}" + (f" ({title[:60]!r})" if title else "")
    when = _when(entry)
    if when is None:
        if feed_when is None:
            warnings.append(f"{label}: no date, skipped")
            return None
        warnings.append(f"{label}: no date, using the feed's date")
        when = feed_when
    if not title:
        if not body:
            warnings.append(f"{label}: no title and no text, skipped")
            return None
        title = body.split("\n", 1)[0][:100].rstrip()
        warnings.append(f"{label}: no title, using the start of its text")
    author_detail = entry.get("author_detail") or {}
    author = (author_detail.get("name") or entry.get("author") or "").strip() or None
    # FeedBurner rewrites links through feedproxy (now dead); the original is kept aside.
    link = entry.get("feedburner_origlink") or entry.get("link") or None
    labels: list[str] = []
    for tag in entry.get("tags") or []:
        term = " ".join((tag.get("term") or tag.get("label") or "").split())
        if term and term not in labels:
            labels.append(term)
    declared = _int_or_none(entry.get("thr_total"))
    if declared is None:
        declared = _int_or_none(entry.get("slash_comments"))
    return ParsedPost(
        date=when.date(),
        title=title,
        headline=None,
        source=feed_title,
        body=body,
        truncated=False,
        comments=[],
        author=author,
        labels=labels,
        link=link,
        entry_id=entry.get("id") or entry.get("guid") or link,
        declared_comments=declared,
    )


_XML_ENCODING = re.compile(rb"^(\s*<\?xml[^>]*?encoding=)([\"'])[^\"']*\2", re.I)


def parse_feed(data: bytes | str) -> FeedResult:
    """Parse RSS 0.9x/1.0/2.0 or Atom; raise FeedParseError when it is not a feed."""
    if isinstance(data, str):
        data = _XML_ENCODING.sub(rb"\1\2utf-8\2", data.encode("utf-8"), count=1)
    if not data or not data.strip():
        raise FeedParseError("empty feed data")
    # A stream, never the bytes themselves: feedparser would treat bytes that name a file
    # as a path to open.
    parsed = feedparser.parse(io.BytesIO(data))
    exc = parsed.get("bozo_exception")
    entries = parsed.get("entries") or []
    if not entries:
        head = data[:1024].lower()
        if not parsed.get("version") and (b"<html" in head or b"<!doctype html" in head):
            raise FeedParseError("not a feed: an HTML page, not RSS/Atom XML")
        if parsed.get("bozo"):
            raise FeedParseError(f"not a feed: the data is not well-formed XML ({exc})")
        if not parsed.get("version"):
            raise FeedParseError("not a feed: no RSS/Atom elements found")
    warnings: list[str] = []
    if parsed.get("bozo") and exc is not None:
        warnings.append(f"feed is not well-formed ({exc}); parsed leniently")
    if not entries:
        warnings.append("feed has no entries")
    feed = parsed.get("feed") or {}
    title_detail = feed.get("title_detail") or {}
    title = _plain(feed.get("title"), title_detail.get("type")) or None
    feed_when = _when(feed)
    posts, images = [], []
    for index, entry in enumerate(entries):
        post = _entry_post(entry, index, title, feed_when, warnings)
        if post is not None:
            posts.append(post)
            images.append(entry_image(entry))
    log.debug("feed %r: %d posts, %d warnings", title, len(posts), len(warnings))
    return FeedResult(title=title, posts=posts, warnings=warnings, images=images)


# --- pictures ----------------------------------------------------------------------------

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")


def _web(url) -> bool:
    return isinstance(url, str) and url.strip().lower().startswith(("http://", "https://"))


def _width(item) -> int:
    return _int_or_none(item.get("width")) or 0


def _is_image(url: str, medium: str | None, kind: str | None) -> bool:
    """media:content may be a video or audio: an image says so, or (saying nothing) is named like one."""
    if medium:
        return medium.lower() == "image"
    if kind:
        return kind.lower().startswith("image/")
    return urlsplit(url).path.lower().endswith(_IMAGE_SUFFIXES)


_NO_PICTURES = ("feeds.feedburner.com", "feeds.feedblitz.com")  # share buttons and tracking pixels


class _FirstImage(HTMLParser):
    """The first <img> with a web address that is a picture: not a tracking pixel (width or height 0
    or 1), not a feed service's share button."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.src: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag != "img" or self.src is not None:
            return
        values = dict(attrs)
        if (values.get("width") or "").strip() in ("0", "1") or (values.get("height") or "").strip() in ("0", "1"):
            return
        src = (values.get("src") or "").strip()
        if src and (urlsplit(src).hostname or "").lower() not in _NO_PICTURES:
            self.src = src


def _first_img(html: str, base: str | None) -> str | None:
    finder = _FirstImage()
    finder.feed(html)
    finder.close()
    if finder.src is None:
        return None
    url = urljoin(base, finder.src) if base else finder.src
    return url if _web(url) else None


def entry_image(entry) -> str | None:
    """An entry's picture: the largest image media:content, else the largest media:thumbnail, else
    an image enclosure, else the first <img> of its content or summary; only http(s) addresses."""
    media = [m for m in entry.get("media_content") or [] if _web(m.get("url")) and _is_image(m["url"], m.get("medium"), m.get("type"))]
    if media:
        return max(media, key=_width)["url"].strip()
    thumbnails = [t for t in entry.get("media_thumbnail") or [] if _web(t.get("url"))]
    if thumbnails:
        return max(thumbnails, key=_width)["url"].strip()
    for enclosure in entry.get("enclosures") or []:
        href = enclosure.get("href") or enclosure.get("url")
        if _web(href) and (enclosure.get("type") or "").lower().startswith("image/"):
            return href.strip()
    texts = [item.get("value") or "" for item in entry.get("content") or []] + [entry.get("summary") or ""]
    for text in texts:
        if "<img" in text.lower() and (found := _first_img(text, entry.get("link"))):
            return found
    return None


# --- feed discovery ----------------------------------------------------------------------

FEED_TYPES = {"application/rss+xml": "RSS", "application/atom+xml": "Atom"}


@dataclass(frozen=True)
class FeedLink:
    """A feed a web page names in `<link rel="alternate" type="application/rss+xml|atom+xml" href=...>`."""

    url: str  # absolute, resolved against the page (and its <base href>)
    kind: str  # "RSS" or "Atom"
    title: str | None = None


class _LinkFinder(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.links: list[FeedLink] = []

    def handle_starttag(self, tag, attrs):
        values = {name: (value or "") for name, value in attrs}
        if tag == "base" and values.get("href") and not self.links:
            self.base = urljoin(self.base, values["href"].strip())
        if tag != "link" or "alternate" not in values.get("rel", "").lower().split():
            return
        kind = FEED_TYPES.get(values.get("type", "").split(";")[0].strip().lower())
        href = values.get("href", "").strip()
        if kind and href:
            title = " ".join(values.get("title", "").split()) or None
            self.links.append(FeedLink(url=urljoin(self.base, href), kind=kind, title=title))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)


def feed_links(page: bytes | str, base_url: str) -> list[FeedLink]:
    """The RSS/Atom feeds an HTML page names, in page order, each once; only http(s) addresses."""
    text = page.decode("utf-8", "replace") if isinstance(page, bytes) else page
    finder = _LinkFinder(base_url)
    finder.feed(text)
    finder.close()
    seen: set[str] = set()
    found = []
    for link in finder.links:
        if _web(link.url) and link.url not in seen:
            seen.add(link.url)
            found.append(link)
    return found
