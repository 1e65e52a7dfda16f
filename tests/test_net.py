"""bot.addresses and bot.net: the address policy, the guarded session and fetch - real HTTP on
loopback, no mocks.

Two servers, on 127.0.0.1 and 127.0.0.2 (Linux routes all of 127/8 to lo). The policy under
test allows only 127.0.0.1, so 127.0.0.2 stands in for "a private host behind the bot": every
way of reaching it must be refused before its handler - or even a socket connect - happens.
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import ClientConnectorError, web

from bot.addresses import PUBLIC_ONLY, AddressPolicy, AddressRefused, PolicyError
from bot.net import FetchError, GuardedResolver, fetch, http_session
from bot.settings import Settings, SettingsError

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
ETAG = '"v1"'
MODIFIED = "Sun, 23 Jun 2024 10:00:00 GMT"
HINT = "postbot only fetches public feeds (allow it with FEED_ALLOW_PRIVATE_HOSTS)"

# --- every socket.connect of the process, seen through an audit hook (cannot be removed, so
# it records only while a test's `connects` fixture is active) ---------------------------------

_recording: list | None = None


def _audit(event: str, args: tuple) -> None:
    if event == "socket.connect" and _recording is not None:
        _recording.append(args[1])


sys.addaudithook(_audit)


@pytest.fixture
def connects():
    """The addresses every socket connected to during the test."""
    global _recording
    _recording = []
    yield _recording
    _recording = None


def connected_hosts(connects) -> set[str]:
    return {address[0] for address in connects if isinstance(address, tuple)}


# --- the servers ------------------------------------------------------------------------------


class Server:
    def __init__(self, host: str) -> None:
        self.host = host
        self.hits: list[str] = []  # paths requested, so a test can prove a handler never ran
        self.runner: web.AppRunner | None = None
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._count])
        app.router.add_get("/feed.xml", self.feed)
        app.router.add_get("/redirect", self.redirect)
        app.router.add_get("/loop", self.loop)
        app.router.add_get("/big", self.big)
        app.router.add_get("/declared-big", self.declared_big)
        app.router.add_get("/slow", self.slow)
        app.router.add_get("/nowhere", self.nowhere)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self.runner, sock).start()

    @web.middleware
    async def _count(self, request: web.Request, handler):
        self.hits.append(request.path)
        return await handler(request)

    async def feed(self, request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == ETAG:
            return web.Response(status=304, headers={"ETag": ETAG})
        headers = {"ETag": ETAG, "Last-Modified": MODIFIED}
        return web.Response(body=FEED, content_type="application/rss+xml", headers=headers)

    async def redirect(self, request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": request.query["to"]})

    async def loop(self, request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/loop"})

    async def big(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked: no Content-Length to check up front
        await response.prepare(request)
        for _ in range(64):
            await response.write(b"x" * 1024)
        await response.write_eof()
        return response

    async def declared_big(self, request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5000)

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(body=FEED)

    async def nowhere(self, request: web.Request) -> web.Response:
        return web.Response(status=404)


@pytest.fixture
async def servers():
    one, two = Server("127.0.0.1"), Server("127.0.0.2")
    try:
        await one.start()
        await two.start()
    except OSError as exc:  # not Linux-style loopback: 127.0.0.2 is not routed to lo
        pytest.skip(f"cannot bind the loopback test servers: {exc}")
    yield one, two
    for server in (one, two):
        await server.runner.cleanup()


ONLY_ONE = AddressPolicy.parse("127.0.0.1")


@pytest.fixture
async def http():
    async with http_session(ONLY_ONE) as session:
        yield session


def refused(address: str, why: str) -> str:
    return f"{address} is a private network address ({why}); {HINT}"


# --- fetch --------------------------------------------------------------------------------------


async def test_a_plain_fetch_from_an_allowed_host(servers, http):
    one, _two = servers
    got = await fetch(http, ONLY_ONE, one.url("/feed.xml"))
    assert not got.not_modified and got.data == FEED
    assert got.etag == ETAG and got.last_modified == MODIFIED
    assert got.url == one.url("/feed.xml")


async def test_a_redirect_to_a_refused_host_is_refused_before_connecting(servers, http, connects):
    """The bypass: a host the bot may fetch answers 302 to one it may not."""
    one, two = servers
    target = two.url("/feed.xml")
    with pytest.raises(FetchError) as caught:
        await fetch(http, ONLY_ONE, one.url(f"/redirect?to={target}"))
    assert str(caught.value) == f"redirect to {target} refused: {refused('127.0.0.2', 'loopback')}"
    assert one.hits == ["/redirect"]
    assert two.hits == []  # its handler never ran...
    assert "127.0.0.2" not in connected_hosts(connects)  # ...nor did anything connect to it


async def test_the_same_redirect_is_followed_when_the_policy_allows_the_target(servers, connects):
    """Proves the test above can see a fetch of 127.0.0.2: allowed, it is hit and counted."""
    one, two = servers
    both = AddressPolicy.parse("127.0.0.1, 127.0.0.2")
    async with http_session(both) as session:
        got = await fetch(session, both, one.url(f"/redirect?to={two.url('/feed.xml')}"))
    assert got.data == FEED and got.url == two.url("/feed.xml")
    assert two.hits == ["/feed.xml"] and "127.0.0.2" in connected_hosts(connects)


async def test_a_redirect_to_cloud_metadata_is_refused_without_connecting(servers, http, connects):
    one, _two = servers
    target = "http://169.254.169.254/latest/meta-data"
    with pytest.raises(FetchError) as caught:
        await fetch(http, ONLY_ONE, one.url(f"/redirect?to={target}"), timeout=5)
    reason = refused("169.254.169.254", "link-local: the cloud metadata service")
    assert str(caught.value) == f"redirect to {target} refused: {reason}"
    assert "169.254.169.254" not in connected_hosts(connects)


async def test_a_redirect_to_a_name_resolving_to_a_refused_address(servers, connects):
    """Names are checked by the session's resolver on every hop, not just the first."""
    one, two = servers
    only_two = AddressPolicy.parse("127.0.0.2")  # here 127.0.0.2 is the allowed host, 127.0.0.1 is not
    target = f"http://localhost:{one.port}/feed.xml"
    async with http_session(only_two) as session:
        with pytest.raises(FetchError) as caught:
            await fetch(session, only_two, two.url(f"/redirect?to={target}"))
    assert re.fullmatch(
        rf"redirect to {re.escape(target)} refused: localhost resolves to (127\.0\.0\.1|::1), "
        rf"a private network address \(loopback\); {re.escape(HINT)}",
        str(caught.value),
    )
    assert two.hits == ["/redirect"] and one.hits == []
    assert connected_hosts(connects) == {"127.0.0.2"}


async def test_a_name_resolving_to_loopback_is_refused_when_public_only(servers, connects):
    one, _two = servers
    async with http_session(PUBLIC_ONLY) as session:
        loopback = rf"^localhost resolves to (127\.0\.0\.1|::1), a private network address \(loopback\); {re.escape(HINT)}$"
        with pytest.raises(FetchError, match=loopback):
            await fetch(session, PUBLIC_ONLY, f"http://localhost:{one.port}/feed.xml")
    assert one.hits == [] and connected_hosts(connects) == set()


async def test_an_allowed_host_name_may_resolve_to_a_private_address(servers):
    one, _two = servers
    named = AddressPolicy.parse("LocalHost.")
    async with http_session(named) as session:
        got = await fetch(session, named, f"http://localhost:{one.port}/feed.xml")
    assert got.data == FEED


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("[::ffff:127.0.0.2]", refused("::ffff:7f00:2", "IPv4-mapped 127.0.0.2, loopback")),
        ("127.0.0.2", refused("127.0.0.2", "loopback")),
        ("[::1]", refused("::1", "loopback")),
        ("10.1.2.3", f"10.1.2.3 is a private network address; {HINT}"),
        ("2130706433", "2130706433 is not a valid IP address"),  # the socket would read 127.0.0.1
        ("127.2", "127.2 is not a valid IP address"),
    ],
)
async def test_refused_ip_literals(servers, http, connects, host, message):
    _one, two = servers
    with pytest.raises(FetchError) as caught:
        await fetch(http, ONLY_ONE, f"http://{host}:{two.port}/feed.xml")
    assert str(caught.value) == message
    assert two.hits == [] and connected_hosts(connects) == set()


async def test_the_session_itself_refuses_literals_even_following_redirects_its_own_way(servers, http):
    """Second line: aiohttp's own redirect following is refused by the connector on the new hop."""
    one, two = servers
    with pytest.raises(ClientConnectorError) as caught:
        await http.get(one.url(f"/redirect?to={two.url('/feed.xml')}"))
    assert isinstance(caught.value.os_error, AddressRefused)
    assert two.hits == []


async def test_a_redirect_loop(servers, http):
    one, _two = servers
    with pytest.raises(FetchError, match=r"^too many redirects \(more than 5\)$"):
        await fetch(http, ONLY_ONE, one.url("/loop"))
    assert one.hits == ["/loop"] * 6  # the first request and five redirects
    with pytest.raises(FetchError, match=r"^too many redirects \(more than 2\)$"):
        await fetch(http, ONLY_ONE, one.url("/loop"), max_redirects=2)


async def test_a_redirect_to_another_scheme(servers, http):
    one, _two = servers
    says = "redirect to file:///etc/passwd refused: only http:// and https:// URLs are fetched"
    with pytest.raises(FetchError, match=f"^{re.escape(says)}$"):
        await fetch(http, ONLY_ONE, one.url("/redirect?to=file:///etc/passwd"))


async def test_conditional_get(servers, http):
    one, _two = servers
    got = await fetch(http, ONLY_ONE, one.url("/feed.xml"), etag=ETAG, last_modified=MODIFIED)
    assert got.not_modified and got.data == b""
    assert got.etag == ETAG and got.last_modified == MODIFIED
    assert not (await fetch(http, ONLY_ONE, one.url("/feed.xml"), etag='"old"')).not_modified


async def test_oversized_bodies(servers, http):
    one, _two = servers
    with pytest.raises(FetchError, match=r"^the response is larger than 10 KB; stopped reading$"):
        await fetch(http, ONLY_ONE, one.url("/big"), max_bytes=10 * 1024)
    with pytest.raises(FetchError, match=r"^the response is larger than 1000 bytes \(4\.88 KB\); not reading it$"):
        await fetch(http, ONLY_ONE, one.url("/declared-big"), max_bytes=1000)
    assert len((await fetch(http, ONLY_ONE, one.url("/big"))).data) == 64 * 1024


async def test_other_failures_read_as_one_line(servers, http):
    one, _two = servers
    with pytest.raises(FetchError, match="^HTTP 404 Not Found$"):
        await fetch(http, ONLY_ONE, one.url("/nowhere"))
    with pytest.raises(FetchError, match=r"^timed out after 0\.3 s$"):
        await fetch(http, ONLY_ONE, one.url("/slow"), timeout=0.3)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(FetchError, match="^could not connect to 127.0.0.1: Connection refused$"):
        await fetch(http, ONLY_ONE, f"http://127.0.0.1:{port}/feed.xml")
    with pytest.raises(FetchError, match="^ftp://example.org/feed is not an http:// or https:// URL$"):
        await fetch(http, ONLY_ONE, "ftp://example.org/feed")


async def test_fetch_needs_the_guarded_session_of_its_policy(http):
    with pytest.raises(TypeError, match="http_session"):
        await fetch(http, PUBLIC_ONLY, "http://example.org/feed")


async def test_the_resolver_checks_every_address():
    with pytest.raises(AddressRefused, match="^localhost resolves to"):
        await GuardedResolver(PUBLIC_ONLY).resolve("localhost", 80, socket.AF_UNSPEC)
    infos = await GuardedResolver(AddressPolicy.parse("localhost")).resolve("localhost", 80, socket.AF_INET)
    assert [info["host"] for info in infos] == ["127.0.0.1"]


# --- the policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "127.255.255.254", "169.254.169.254",
        "169.254.1.1", "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.250", "240.0.0.1",
        "255.255.255.255", "192.0.2.1", "::1", "::", "fe80::1", "fe80::1%eth0", "fec0::1", "fc00::1",
        "fd12:3456::1", "ff02::1", "ff0e::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
        "::ffff:169.254.169.254", "::10.0.0.1", "64:ff9b::a00:1", "64:ff9b:1::1",
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo, client 192.0.2.45
    ],
)
def test_public_only_refuses_what_is_not_globally_routable(address):
    assert not PUBLIC_ONLY.allows("example.org", address)
    with pytest.raises(AddressRefused, match=re.escape(HINT)):
        PUBLIC_ONLY.check("example.org", address)


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"]
)
def test_public_addresses_are_allowed(address):
    PUBLIC_ONLY.check("example.org", address)


def test_refusal_messages():
    with pytest.raises(AddressRefused) as caught:
        PUBLIC_ONLY.check(None, "10.1.2.3")
    assert str(caught.value) == f"10.1.2.3 is a private network address; {HINT}"
    with pytest.raises(AddressRefused) as caught:
        PUBLIC_ONLY.check("intranet.example", "192.168.1.1")
    assert str(caught.value) == f"intranet.example resolves to 192.168.1.1, a private network address; {HINT}"
    with pytest.raises(AddressRefused) as caught:
        PUBLIC_ONLY.check(None, "2002:a00:1::1")
    assert str(caught.value) == refused("2002:a00:1::1", "6to4 10.0.0.1")


def test_policy_parsing():
    for text in ("true", "TRUE", " yes ", "1", "on"):
        assert AddressPolicy.parse(text) == AddressPolicy(allow_all=True)
    for text in ("false", "False", "", "  ", "0", "no", None):
        assert AddressPolicy.parse(text) == PUBLIC_ONLY
    assert AddressPolicy.parse("true").allows("x", "10.0.0.1")

    policy = AddressPolicy.parse("127.0.0.1, 10.0.0.0/8,Feeds.Internal.,fd00::/8,")
    assert policy.hosts == {"feeds.internal"}
    assert [str(n) for n in policy.networks] == ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]
    assert str(policy) == "127.0.0.1,10.0.0.0/8,fd00::/8,feeds.internal"
    assert policy.allows("whatever", "10.200.3.4") and policy.allows("whatever", "::ffff:10.0.0.9")
    assert policy.allows("feeds.internal", "192.168.1.1") and policy.allows("FEEDS.internal.", "192.168.1.1")
    assert policy.allows(None, "127.0.0.1") and policy.allows(None, "fd00::1")
    assert not policy.allows("other.internal", "192.168.1.1")
    assert not policy.allows(None, "127.0.0.2")
    assert policy.allows("anything", "8.8.8.8")  # public stays allowed
    assert str(PUBLIC_ONLY) == "false" and str(AddressPolicy(allow_all=True)) == "true"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("10.0.0.0/33", "'10.0.0.0/33' is not a network; write it like 10.0.0.0/8"),
        ("10.0.0.1/8", "'10.0.0.1/8' has host bits set; write the network as 10.0.0.0/8"),
        ("10.0.0.256", "'10.0.0.256' is not an IP address or network; write it like 10.0.0.5"),
        ("http://feeds.internal", "'http://feeds.internal' is not a host name, address or network"),
        ("feeds internal", "'feeds internal' is not a host name, address or network"),
        ("localhost:8080", "'localhost:8080' is not a host name, address or network"),
        ("true,10.0.0.0/8", "'true' cannot be combined with other entries"),
        ("*", "'*' is not a host name, address or network"),
    ],
)
def test_bad_policy_entries_are_one_line_settings_errors(text, says, monkeypatch):
    with pytest.raises(PolicyError, match="^" + re.escape(says)):
        AddressPolicy.parse(text)
    with pytest.raises(SettingsError) as caught:
        Settings(feed_allow_private_hosts=text)
    message = str(caught.value)
    assert message.startswith(f"FEED_ALLOW_PRIVATE_HOSTS={text!r}: ") and says in message and "\n" not in message
    monkeypatch.setenv("FEED_ALLOW_PRIVATE_HOSTS", text)
    with pytest.raises(SettingsError, match="^FEED_ALLOW_PRIVATE_HOSTS="):
        Settings.from_env(env_file=None)


def test_settings_hold_the_parsed_policy(monkeypatch):
    assert Settings().feed_allow_private_hosts == PUBLIC_ONLY
    assert Settings(feed_allow_private_hosts=True).feed_allow_private_hosts == AddressPolicy(allow_all=True)
    assert Settings(feed_allow_private_hosts=False).feed_allow_private_hosts == PUBLIC_ONLY
    listed = Settings(feed_allow_private_hosts="127.0.0.1,10.0.0.0/8").feed_allow_private_hosts
    assert listed == AddressPolicy.parse("127.0.0.1,10.0.0.0/8")
    # Only "true" lifts the guard; a list allows just what it names, never "anything goes".
    assert Settings(feed_allow_private_hosts="true").feed_allow_private_hosts.allow_all
    assert not Settings().feed_allow_private_hosts.allow_all and not listed.allow_all
    monkeypatch.setenv("FEED_ALLOW_PRIVATE_HOSTS", "feeds.internal, 10.0.0.0/8")
    from_env = Settings.from_env(env_file=None).feed_allow_private_hosts
    assert from_env.hosts == {"feeds.internal"} and from_env.allows(None, "10.1.1.1")
    monkeypatch.setenv("FEED_ALLOW_PRIVATE_HOSTS", "")
    assert Settings.from_env(env_file=None).feed_allow_private_hosts == PUBLIC_ONLY


def test_settings_parse_the_policy_without_an_http_client():
    """bot.addresses is standard library only, so reading settings never loads aiohttp."""
    code = "import sys, bot.settings; print(sorted(m for m in ('aiohttp', 'yarl', 'bot.net') if m in sys.modules))"
    root = Path(__file__).resolve().parents[1]
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert loaded.stdout.strip() == "[]"
