"""The local servers and bot fixtures the feed tests share: a changeable aiohttp feed server in the
test's event loop (counting requests), the fixtures' feeds over plain HTTP from a thread, the feed
cog with its loop stopped, and the `postbot` CLI run from a thread as the operator would."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import functools
import hashlib
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from typer.testing import CliRunner

from bot import net
from bot.addresses import AddressPolicy
from bot.cli import app
from bot.settings import Settings

from .helpers import NOW, fixture

LOCAL = AddressPolicy.parse("127.0.0.1")  # public addresses and the test servers, nothing else


def feed_versions() -> tuple[bytes, bytes, str]:
    """(initial, changed, changed title): the changed copy adds the first entry and edits the third."""
    text = fixture("feeds", "rss2_guardian_us_2018.xml").read_text(encoding="utf-8")
    head, *items = text.split("<item>")
    initial = head + "<item>" + "<item>".join(items[1:])
    start = items[2].index("<title>") + len("<title>")
    end = items[2].index("</title>")
    new_title = items[2][start:end] + " (updated)"
    items[2] = items[2][:start] + new_title + items[2][end:]
    changed = head + "<item>" + "<item>".join(items)
    return initial.encode(), changed.encode(), new_title


def feed_with(*titles: str, pictures: dict[str, str] | None = None, texts: dict[str, str] | None = None) -> bytes:
    """The initial feed with these entries on top, newest first: the feed as it grows. `pictures`:
    title -> an image as media:content; `texts`: title -> its description (default "<title>: what
    happened today.")."""
    initial, _changed, _title = feed_versions()
    top, rest = initial.decode().split("<item>", 1)
    pictures, texts = pictures or {}, texts or {}
    items = "".join(
        f"<item><title>{t}</title><link>{entry_link(t)}</link>"
        f"<pubDate>Thu, 01 Feb 2018 10:00:00 GMT</pubDate><description>{texts.get(t, f'{t}: what happened today.')}</description>"
        + (f'<media:content url="{pictures[t]}" medium="image" width="460"/>' if t in pictures else "")
        + "</item>"
        for t in titles
    )
    return (top + items + "<item>" + rest).encode()


def entry_link(title: str) -> str:
    """Where feed_with's entry of this title links."""
    return f"https://example.org/{title.lower().replace(' ', '-')}"


SITE = """<!DOCTYPE html><html><head><title>Our news</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="Our news (RSS)" href="/feed.xml">
<link rel="alternate" type="application/atom+xml" title="Comments" href="comments.atom">
</head><body><h1>Our news</h1></body></html>"""
PRIVATE_SITE = """<!DOCTYPE html><html><head>
<link rel="alternate" type="application/rss+xml" href="http://10.0.0.1/feed.xml"></head><body></body></html>"""


class FeedServer:
    """Serves a feed that tests can change, plus every kind of failure; counts conditional hits."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.modified = email.utils.format_datetime(NOW, usegmt=True)
        self.hits: dict[str, int] = {}
        self.conditional = 0  # requests that carried If-None-Match or If-Modified-Since
        self.not_modified = 0  # of those, answered 304
        self.server: TestServer | None = None

    def set_body(self, body: bytes, modified: dt.datetime) -> None:
        self.body, self.modified = body, email.utils.format_datetime(modified, usegmt=True)

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'

    @web.middleware
    async def count(self, request: web.Request, handler):
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        return await handler(request)

    async def feed(self, request: web.Request, *, etag: bool = True) -> web.Response:
        """The feed, answering conditional requests by ETag (or, with `etag` off, by Last-Modified only)."""
        if "If-None-Match" in request.headers or "If-Modified-Since" in request.headers:
            self.conditional += 1
            if (etag and request.headers.get("If-None-Match") == self.etag) or (
                not etag and request.headers.get("If-Modified-Since") == self.modified
            ):
                self.not_modified += 1
                return web.Response(status=304)
        headers = {"Last-Modified": self.modified}
        if etag:
            headers["ETag"] = self.etag
        return web.Response(body=self.body, content_type="application/rss+xml", headers=headers)

    async def html(self, request: web.Request) -> web.Response:
        return web.Response(text="<!DOCTYPE html><html><body><h1>Our news</h1></body></html>", content_type="text/html")

    async def site(self, request: web.Request) -> web.Response:
        """A web page naming its feeds (feed discovery), or one naming a feed on a private address."""
        return web.Response(text=PRIVATE_SITE if "private" in request.path else SITE, content_type="text/html")

    async def empty(self, request: web.Request) -> web.Response:
        body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
        return web.Response(body=body, content_type="application/rss+xml")

    async def garbage(self, request: web.Request) -> web.Response:
        return web.Response(body=bytes(range(256)) * 64, content_type="application/octet-stream")

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(body=self.body, content_type="application/rss+xml")

    async def huge(self, request: web.Request) -> web.StreamResponse:
        """50 MB, chunked: the client has to count."""
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"<rss>" + b"x" * (1024 * 1024 - 5)
        try:
            for _ in range(50):
                await response.write(chunk)
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass
        return response

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.count])
        app.router.add_get("/feed.xml", self.feed)
        app.router.add_get("/lm.xml", functools.partial(self.feed, etag=False))
        app.router.add_get("/page.html", self.html)
        app.router.add_get("/news/", self.site)
        app.router.add_get("/private/", self.site)
        app.router.add_get("/empty.xml", self.empty)
        app.router.add_get("/garbage", self.garbage)
        app.router.add_get("/slow", self.slow)
        app.router.add_get("/huge", self.huge)
        return app  # anything else is aiohttp's 404


@pytest.fixture
async def feed_server():
    initial, _changed, _title = feed_versions()
    server = FeedServer(initial)
    server.server = TestServer(server.app(), host="127.0.0.1", port=0)
    await server.server.start_server()
    yield server
    await server.server.close()


@pytest.fixture
async def http():
    async with net.http_session(LOCAL) as session:
        yield session


@pytest.fixture
def settings(request, database_url) -> Settings:
    """The test feed server is on 127.0.0.1, which the bot refuses unless allowed (indirect param: another policy)."""
    return Settings(database_url=database_url, feed_allow_private_hosts=getattr(request, "param", "127.0.0.1"))


@pytest.fixture
async def live_cog(simcord_env):
    """The feed cog as the bot runs it; simcord does not close the bot, so its HTTP session is closed here."""
    feeds = simcord_env.bot.get_cog("Feeds")
    feeds.fetch_timeout = 0.5
    yield feeds
    await simcord_env.bot.http_session.close()


@pytest.fixture
def cog(live_cog):
    """The feed cog with its loop stopped, so tests drive polling one tick at a time."""
    live_cog.poll_loop.cancel()
    return live_cog


@pytest.fixture
def file_server():
    """The feeds of tests/fixtures/feeds/ over plain HTTP from a thread (the CLI runs its own event loop)."""
    handler = functools.partial(QuietHandler, directory=str(fixture("feeds")))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


@pytest.fixture
def operator(settings, tmp_path, monkeypatch, request):
    """`postbot ...` on the bot's database, in a thread (the CLI runs its own event loop), as the operator
    would; beside a simcord bot, at the bot's (virtual) time, so both agree on what is due."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    if "simcord_env" in request.fixturenames:
        monkeypatch.setattr("bot.cli._base.utcnow", request.getfixturevalue("simcord_env").now)

    async def run(*args: str):
        result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return run


def sent_to(env, channel) -> list:
    """What the bot posted in the channel, as it sent it (content, embeds, components, allowed_mentions)."""
    return [r.json for r in env.http_requests if r.method == "POST" and r.path == f"/channels/{channel.id}/messages"]
