"""Stored text shows as written: no markdown, masked links, spoilers, mentions, headings or lists
that a post, feed or member put in it, on every path that shows it (issue #10, item 6).

A post (title, source, body with an article quote, a reader comment), a member's Discord comment
and a watched feed are made of hostile text; every command and message that shows them is run
through simcord, and every request the bot made is checked: the raw markdown never appears
unescaped where Discord renders markdown (content, embed titles, descriptions, fields), the text
still reads literally once Discord drops the escapes, footers (plain text in Discord) carry it
unescaped, no embed URL is anything but http(s), and no request lets a mention through.
"""

from __future__ import annotations

import datetime as dt
import re
from xml.sax.saxutils import escape as xml_escape

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.render import escape, fit, safe_url, split_markdown, text_embeds
from bot.render.posts import post_card_embed
from bot.services.posts import show_post
from bot.services.views import PostCard

from .feed_servers import cog, live_cog, settings  # noqa: F401  (fixtures: the feed cog, 127.0.0.1 allowed, SQLite and PostgreSQL)
from .helpers import World, add_post

INLINE = "[link](http://evil.example) ||spoiler|| **bold** __under__ ~~gone~~ `tick` <@123> <@&456> <#789> <t:0:R> @everyone @here \\o/"
LINES = "# Qhead one\n-# Qsmall two\n> Qquote three\n>>> Qblock four\n1. Qlist five\n+ Qplus six\n- Qdash seven\n  - Qindent eight"
TITLE = f"# Qtitle {INLINE[:60]} Qsearch"
SOURCE = "-# Qsource ||spoiler|| <@123> **bold**"
QUOTE = f"Qquote {INLINE} Qend"
BODY_TEXT = f"# Qbody {INLINE} Qsearch.\n\nArticle 5 of the North Atlantic Treaty reads: “{QUOTE}”."
READER = "Qreader **bold** <@123>"
READER_TEXT = f"{LINES}\n{INLINE} Qsearch"
MEMBER = "Qmal **bold** ||spoiler||"
MEMBER_TEXT = f"> Qdiscord {INLINE} Qsearch"
FEED_TITLE = f"> Qfeed {INLINE[:60]}"
FEED_URL_TAIL = "/Qurl **bold** ||spoiler|| <@123> [link](http://evil.example)"

RAW = [
    "[link](", "||spoiler||", "**bold**", "__under__", "~~gone~~", "`tick`",
    "<@123>", "<@&456>", "<#789>", "<t:0:R>", "@everyone", "@here",
]
# A raw token preceded by no backslash (or an escaped one): Discord would render it.
UNESCAPED = re.compile(r"(?<!\\)(?:\\\\)*(" + "|".join(re.escape(t) for t in RAW) + ")")
# A line that starts with a block marker (inside our own "> " quote, too) right before a hostile word.
BLOCK_START = re.compile(r"^[ \t]*(?:>[ \t]+)?(?:#{1,3}|-#|>{1,3}|\d+\.|[-+*])[ \t]+Q", re.MULTILINE)


def visible(markdown: str) -> str:
    """What a reader sees: escaped characters as themselves, our own bold and italics gone (whitespace collapsed)."""
    return " ".join(re.sub(r"\\([^0-9A-Za-z\s])|\*+", lambda m: m.group(1) or "", markdown).split())


def plain(text: str) -> str:
    return " ".join(text.split())


def payloads(env, since: int) -> list[dict]:
    """The message bodies the bot sent since request `since`: sends, interaction answers, edits, followups."""
    out = []
    for request in env.http_requests[since:]:
        body = request.json
        if isinstance(body, dict) and isinstance(body.get("data"), dict):  # an interaction callback
            body = body["data"]
        if isinstance(body, dict) and ("content" in body or "embeds" in body):
            out.append(body)
    return out


def rendered_fields(body: dict) -> tuple[list[str], list[str]]:
    """(fields where Discord renders markdown, plain-text fields) of one message body."""
    markdown = [body.get("content") or ""]
    text = []
    for embed in body.get("embeds") or []:
        markdown += [embed.get("title") or "", embed.get("description") or ""]
        for field in embed.get("fields") or []:
            markdown += [field["name"], field["value"]]
        text.append((embed.get("footer") or {}).get("text") or "")
        text.append((embed.get("author") or {}).get("name") or "")
    return [m for m in markdown if m], [t for t in text if t]


def check(env, since: int, *expected: str, footers: tuple[str, ...] = ()) -> list[str]:
    """Every body sent since `since` is safe; each `expected` text reads literally in some markdown field,
    each `footers` text literally in some footer. Returns the markdown fields seen."""
    bodies = payloads(env, since)
    assert bodies, "the command sent nothing"
    seen, seen_text = [], []
    for body in bodies:
        mentions = body.get("allowed_mentions")
        assert mentions is not None and not mentions.get("parse") and not mentions.get("users") and not mentions.get("roles"), body
        for embed in body.get("embeds") or []:
            url = embed.get("url")
            assert url is None or url.startswith(("http://", "https://")), url
        markdown, text = rendered_fields(body)
        for field in markdown:
            assert not UNESCAPED.search(field), field
            assert not BLOCK_START.search(field), field
        seen += markdown
        seen_text += text
    for want in expected:
        assert any(plain(want) in visible(m) for m in seen), (want, seen)
    for want in footers:
        assert any(plain(want) in t for t in seen_text), (want, seen_text)
    return seen


# --------------------------------------------------------------------------- the render functions


@pytest.mark.parametrize("text", [INLINE, LINES, TITLE, SOURCE, READER_TEXT, MEMBER_TEXT, FEED_TITLE, "a\\*b\\\\c", " - x\n\t+ y"])
def test_escape_leaves_nothing_to_render_and_reads_literally(text):
    shown = escape(text)
    assert not UNESCAPED.search(shown) and not BLOCK_START.search(shown), shown
    assert visible(shown) == plain(text)
    cut = fit(text, 80)
    assert len(cut) <= 80 and not UNESCAPED.search(cut) and not BLOCK_START.search(cut), cut


def test_urls_stay_links_where_discord_links_them_and_are_escaped_where_it_does_not():
    text = "see https://example.org/a_b_c and <https://example.org/x_y>"
    assert escape(text) == text  # a link keeps its underscores (escaping them would break it)
    assert escape("xhttps://example.org/**b**") == "xhttps://example.org/\\*\\*b\\*\\*"  # not a link to Discord
    # Titles and field names never link, so a URL there is escaped like any text.
    assert escape("https://example.org/**b**", links=False) == "https://example.org/\\*\\*b\\*\\*"
    card = PostCard(id=1, title="https://example.org/**b** ||x||", date=dt.date(2024, 6, 23), source=None, headline=None,
                    link="javascript:alert(1)", summary="", articles=(), comment_count=0)
    embed = post_card_embed(card)
    assert embed.title == "https://example.org/\\*\\*b\\*\\* \\|\\|x\\|\\|" and embed.url is None


@pytest.mark.parametrize("marker", ["#", "###", "-#", "-", "+", "1.", ">", ">>>"])
def test_a_split_text_never_starts_a_part_with_markup(marker):
    """A cut at a space mid-line must not start a part with a heading, list or quote of its own."""
    text = escape("a" * (999 - len(marker)) + f" {marker} Qtail")  # the cut falls right before the marker
    parts = split_markdown(text, 1000)
    assert len(parts) == 2 and all(len(p) <= 1000 for p in parts)
    assert visible(parts[1]) == f"{marker} Qtail" and not BLOCK_START.search(parts[1]), parts[1]
    [_first, second] = text_embeds("Qtitle", escape("a" * (4095 - len(marker)) + f" {marker} Qtail"))
    assert not BLOCK_START.search(second.description)


def test_a_cut_without_spaces_keeps_each_backslash_with_what_it_escapes():
    text = escape("*" * 3000)
    parts = split_markdown(text, 1000)
    assert len(parts) > 3 and all(len(p) <= 1000 for p in parts)
    assert all(re.fullmatch(r"(\\\*)+", p) for p in parts), [p[-3:] for p in parts]
    assert "".join(parts) == text


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "//evil.example", "http://", "https://exa mple.org",
     "http://example.org/\nx", "http://[::1", "ftp://example.org", "https://example.org/" + "x" * 2000],
)
def test_only_well_formed_http_links_become_embed_urls(link):
    assert safe_url(link) is None
    assert safe_url("https://example.org/a_b?c=d#e") == "https://example.org/a_b?c=d#e"


# --------------------------------------------------------------------------- every path, through simcord


@pytest.fixture
def world(simcord_env, cog) -> World:  # noqa: F811  (cog: the feed loop is stopped; feed tests poll by hand)
    w = World(simcord_env)
    w.mallory = w.guild.add_member(simcord_env.create_user("mallory", global_name=MEMBER))
    w.post = w.add_post(TITLE, body=BODY_TEXT, source=SOURCE, comments=((READER, READER_TEXT),), link="javascript:alert(1)")
    return w


async def _comment(w: World) -> int:
    r = await w.mallory.slash(w.channel, "comment add", post=str(w.post), text=MEMBER_TEXT)
    [number] = re.findall(r"comment #(\d+)", r.response.content)
    return int(number)


async def test_posts_comments_and_search(world, simcord_env):
    env, alice = simcord_env, world.alice
    start = len(env.http_requests)
    await _comment(world)
    check(env, start, TITLE)

    start = len(env.http_requests)
    await alice.slash(world.channel, "post show", post=str(world.post))
    check(env, start, TITLE, SOURCE, f"# Qbody {INLINE} Qsearch.", f"newest by {MEMBER}")
    [card] = payloads(env, start)[-1]["embeds"]
    assert "url" not in card or card["url"] is None  # the javascript: link is not the card's link

    start = len(env.http_requests)
    await alice.slash(world.channel, "post list")
    check(env, start, TITLE, SOURCE)

    start = len(env.http_requests)
    await alice.slash(world.channel, "comments", post=str(world.post))
    check(env, start, f"Comments on {TITLE}", READER, READER_TEXT, MEMBER, MEMBER_TEXT)

    start = len(env.http_requests)
    await alice.slash(world.channel, "search", query="Qsearch")
    fields = check(env, start)
    [hits] = [f for f in fields if f.startswith("**1.**")]  # the post, its reader's comment and the member's
    assert all(word in hits for word in ("Qtitle", "comment by Qreader", "comment by Qmal")), hits

    start = len(env.http_requests)
    number = await _comment(world)
    await world.mallory.slash(world.channel, "comment remove", comment=number)
    check(env, start, f"by {MEMBER} on {TITLE}")


async def test_articles(world, simcord_env):
    env, alice = simcord_env, world.alice
    start = len(env.http_requests)
    await alice.slash(world.channel, "article", number="5")
    check(env, start, QUOTE, TITLE, footers=(f"As quoted in {TITLE}",))

    start = len(env.http_requests)
    await alice.slash(world.channel, "articles")
    await alice.slash(world.channel, "articles", treaty="North Atlantic Treaty")
    check(env, start, QUOTE[:100])


async def test_discussion_card_and_second_discuss(world, simcord_env):
    env, alice = simcord_env, world.alice
    await _comment(world)
    start = len(env.http_requests)
    await alice.slash(world.channel, "discuss", post=str(world.post))
    check(env, start, TITLE, SOURCE, f"newest by {MEMBER}")
    start = len(env.http_requests)
    again = await alice.slash(world.channel, "discuss", post=str(world.post))
    assert again.ephemeral
    check(env, start, f"{TITLE} is discussed in")


async def test_digests_preview_now_and_scheduled(world, simcord_env):
    env, admin = simcord_env, world.admin
    await _comment(world)
    now_channel = world.guild.create_text_channel("digest-now")
    timed = world.guild.create_text_channel("digest-timed")
    await admin.slash(world.channel, "digest setup", channel=now_channel, time="12:00", timezone="UTC")
    await admin.slash(world.channel, "digest setup", channel=timed, time="00:10", timezone="UTC")

    start = len(env.http_requests)
    await admin.slash(world.channel, "digest preview", channel=now_channel)
    check(env, start, TITLE, SOURCE, f"Most discussed: {TITLE}")

    start = len(env.http_requests)
    await admin.slash(world.channel, "digest now", channel=now_channel)
    check(env, start, TITLE, SOURCE)
    assert now_channel.last_message.embeds

    start = len(env.http_requests)
    await env.advance_time(11 * 60)
    check(env, start, TITLE, SOURCE)
    assert timed.last_message.embeds


HOSTILE_FEED = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Q feed</title>
<item><title>Qold entry</title><link>https://example.org/old</link><guid>old</guid>
<pubDate>Thu, 01 Jan 2026 00:00:00 GMT</pubDate><description>Old news.</description></item>
{{new}}</channel></rss>"""
NEW_ENTRY = (
    f"<item><title>{xml_escape(FEED_TITLE)}</title><link>javascript:alert(1)</link><guid>new</guid>"
    f"<pubDate>Thu, 01 Jan 2026 00:05:00 GMT</pubDate><description>{xml_escape(f'# Qentry {INLINE}.')}</description></item>"
)


@pytest.fixture
async def hostile_feed():
    state = {"new": ""}

    async def feed(_request: web.Request) -> web.Response:
        return web.Response(body=HOSTILE_FEED.replace("{new}", state["new"]).encode(), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    yield server, state
    await server.close()


async def test_feeds(world, simcord_env, cog, hostile_feed):  # noqa: F811
    env, admin, channel = simcord_env, world.admin, world.channel
    server, state = hostile_feed
    bad_url = str(server.make_url("/")).rstrip("/") + FEED_URL_TAIL
    start = len(env.http_requests)
    await admin.slash(channel, "feed add", url=bad_url)
    check(env, start, bad_url)
    start = len(env.http_requests)
    await admin.slash(channel, "feed list")
    await admin.slash(channel, "feed status")
    check(env, start, bad_url)

    await admin.slash(channel, "feed add", url=str(server.make_url("/feed.xml")), channel=channel)
    state["new"] = NEW_ENTRY
    start = len(env.http_requests)
    await env.advance_time(15 * 60 + 1)
    await cog.poll_due()
    await env.settle()
    check(env, start, FEED_TITLE, f"# Qentry {INLINE.replace(' <t:0:R>', '')}.")  # the feed's HTML drops <t:0:R> as a tag
    announced = [b for b in payloads(env, start) if b.get("embeds")]
    assert announced and all(e.get("url") is None for b in announced for e in b["embeds"])


def test_hostile_post_is_stored_as_written(db):
    post = add_post(db, TITLE, body=BODY_TEXT, source=SOURCE, link="javascript:alert(1)")
    card = show_post(db, post_id=post, scope=None)
    assert card.title == TITLE and card.link == "javascript:alert(1)"  # stored as written; only the showing is careful
