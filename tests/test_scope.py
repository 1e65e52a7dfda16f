"""Server scoping (DESIGN.md §8): what a server uploads and says stays in that server.

Two unrelated servers, A and B, on SQLite and PostgreSQL. The library has the sample post (with
its three reader comments); server A uploads a post of its own and one of A's members comments
on the library post. Every read path is asked from both servers: B must not see A's post or A's
member's comment, and must still see the library post and its own comments.
"""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.db import Database
from bot.ingest.post_writer import format_post
from bot.ingest.posts import ParsedComment, ParsedPost, parse_post
from bot.services.export import export_posts
from bot.services.loading import load
from bot.settings import Settings
from bot.store.posts import iter_posts

from .helpers import SAMPLE, SAMPLE_TITLE, World, assert_user_error, shown

A_TITLE = "Harbour secrets of the quokka coast"
ARTICLE_4 = (
    "if one of the Parties is subjected to an armed attack by any State or several States and thus finds itself in a state of war, "
    "the other Party will immediately provide military and other assistance with all the means at its disposal."
)
A_POST = format_post(
    ParsedPost(
        date=dt.date(2024, 6, 25),
        title=A_TITLE,
        headline=None,
        source="Server A Weekly",
        body=(
            "The quokka coast talks went on all night.\n\n"
            "Article 5 of the North Atlantic Treaty states that “The Parties agree that an armed attack against one or more of "
            "them shall be considered an attack against them all.”\n\n"
            f"And Article 4 of the Russia-DPRK treaty states that “{ARTICLE_4} It binds both sides for decades.”"
        ),
        truncated=False,
        comments=[ParsedComment(author="Harbourmaster", text="A's own reader comment about the quokka.")],
        declared_comments=1,
    )
).encode()
A_REMARK = "A member of server A says: zebra crossings everywhere."


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url)


class Servers:
    def __init__(self, env) -> None:
        self.env = env
        self.a = World(env, name="Server A")
        self.b = World(env, name="Server B")
        self.db: Database = env.bot.database

    async def post_id(self, world: World, title: str) -> int:
        [choice] = await world.alice.autocomplete(world.channel, "post show", "post", title)
        return int(choice["value"])


@pytest.fixture
async def servers(simcord_env):
    s = Servers(simcord_env)
    assert (await s.a.load(SAMPLE)).summary().startswith("1 loaded")  # the operator's: the library
    r = await s.a.admin.slash(s.a.channel, "load", file=("a.txt", A_POST))
    assert "1 loaded" in shown(r).content
    s.library = await s.post_id(s.a, SAMPLE_TITLE)
    s.a_post = await s.post_id(s.a, A_TITLE)
    r = await s.a.alice.slash(s.a.channel, "comment add", post=str(s.library), text=A_REMARK)
    assert "Saved as comment" in r.response.content
    return s


def titles_listed(result) -> str:
    return shown(result).embeds[0].description


async def test_post_list(servers):
    a = titles_listed(await servers.a.alice.slash(servers.a.channel, "post list"))
    b = titles_listed(await servers.b.alice.slash(servers.b.channel, "post list"))
    assert "quokka" in a and "Kim Jong" in a
    assert "quokka" not in b and "Kim Jong" in b
    assert "💬 4" in a and "💬 3" in b  # the library post's comments: its own 3, plus A's member's in A


async def test_post_show_and_the_post_option(servers):
    b = servers.b
    assert await b.alice.autocomplete(b.channel, "post show", "post", "quokka") == []
    r = await b.alice.slash(b.channel, "post show", post=str(servers.a_post))
    assert_user_error(servers.env, r, "no longer exists")
    fields = {f.name: f.value for f in shown(await b.alice.slash(b.channel, "post show", post=str(servers.library))).embeds[0].fields}
    assert fields["Comments"] == "3, newest by Anonymous"
    fields = {f.name: f.value for f in shown(await servers.a.alice.slash(servers.a.channel, "post show", post=str(servers.library))).embeds[0].fields}
    assert fields["Comments"].startswith("4, newest by ")


async def test_search(servers):
    a, b = servers.a, servers.b
    assert "quokka" in shown(await a.alice.slash(a.channel, "search", query="quokka")).embeds[0].description.lower()
    assert shown(await b.alice.slash(b.channel, "search", query="quokka")).content.startswith("Nothing matches")
    assert "zebra" in shown(await a.alice.slash(a.channel, "search", query="zebra crossings")).embeds[0].description.lower()
    assert shown(await b.alice.slash(b.channel, "search", query="zebra crossings")).content.startswith("Nothing matches")
    assert "Kim" in shown(await b.alice.slash(b.channel, "search", query="Pyongyang")).embeds[0].description


async def test_comments(servers):
    a = shown(await servers.a.alice.slash(servers.a.channel, "comments", post=str(servers.library))).embeds[0]
    b = shown(await servers.b.alice.slash(servers.b.channel, "comments", post=str(servers.library))).embeds[0]
    assert "zebra" in a.description and a.footer.text == "3 original, 1 from Discord"
    assert "zebra" not in b.description and b.footer.text == "3 original, 0 from Discord"
    r = await servers.b.alice.slash(servers.b.channel, "comments", post=str(servers.a_post))
    assert_user_error(servers.env, r, "no longer exists")


async def test_article_citations_and_best_quote(servers):
    a, b = servers.a, servers.b
    in_a = shown(await a.alice.slash(a.channel, "article", number="4")).embeds
    in_b = shown(await b.alice.slash(b.channel, "article", number="4")).embeds
    assert "It binds both sides for decades." in in_a[0].description  # A's longer quote is the best A sees
    assert "It binds both sides" not in in_b[0].description and in_b[0].description.startswith("if one of the Parties")
    cited = {e.fields[-1].name: e.fields[-1].value for e in in_a[-1:]}
    assert any("Cited in 2 posts" in name and "quokka" in value for name, value in cited.items())
    cited_b = {f.name: f.value for f in in_b[-1].fields}
    assert "Cited in 1 post" in cited_b and "quokka" not in cited_b["Cited in 1 post"]
    assert "North Atlantic Treaty" in shown(await a.alice.slash(a.channel, "article", number="5")).embeds[0].title
    r = await b.alice.slash(b.channel, "article", number="5")
    assert_user_error(servers.env, r, "Article 5 is not known")
    listed_b = shown(await b.alice.slash(b.channel, "articles")).embeds[0].description
    assert "North Atlantic" not in listed_b and "Russia–DPRK" in listed_b
    assert "North Atlantic" in shown(await a.alice.slash(a.channel, "articles")).embeds[0].description
    treaties_b = [c["name"] for c in await b.alice.autocomplete(b.channel, "article", "treaty", "north")]
    assert not any("North Atlantic" in name for name in treaties_b)


async def test_discuss_and_comment_add_refuse_another_servers_post(servers):
    b = servers.b
    r = await b.alice.slash(b.channel, "discuss", post=str(servers.a_post))
    assert_user_error(servers.env, r, "no longer exists")
    r = await b.alice.slash(b.channel, "comment add", post=str(servers.a_post), text="sneaky")
    assert_user_error(servers.env, r, "no longer exists")


async def test_digest_preview(servers):
    def text(result) -> str:
        embeds = shown(result).embeds
        return "\n".join([e.title or "" for e in embeds] + [e.description or "" for e in embeds])

    in_a = text(await servers.a.admin.slash(servers.a.channel, "digest preview"))
    in_b = text(await servers.b.admin.slash(servers.b.channel, "digest preview"))
    assert "2 new posts" in in_a and A_TITLE in in_a
    assert "1 new post " in in_b and A_TITLE not in in_b and SAMPLE_TITLE in in_b


async def test_uploads_are_per_server_and_identical_ones_unchanged(servers):
    a, b = servers.a, servers.b
    r = await a.admin.slash(a.channel, "load", file=("copy.txt", SAMPLE.read_bytes()))
    assert "0 loaded, 0 updated, 1 unchanged" in shown(r).content  # A sees that post in the library already
    r = await b.admin.slash(b.channel, "load", file=("a.txt", A_POST))
    assert "1 loaded" in shown(r).content  # the same file in another server is that server's own post
    assert "quokka" in titles_listed(await b.alice.slash(b.channel, "post list"))
    assert titles_listed(await a.alice.slash(a.channel, "post list")).count("quokka") == 1


async def test_a_file_cannot_put_a_post_into_another_server(servers):
    """An upload's "Server:" line names a scope; an upload always lands in the uploading server."""
    sneaky = f"Server: {servers.b.guild.id}\n".encode() + A_POST.replace(b"quokka", b"wombat")
    r = await servers.a.admin.slash(servers.a.channel, "load", file=("sneaky.txt", sneaky))
    assert "1 loaded" in shown(r).content
    assert "wombat" not in titles_listed(await servers.b.alice.slash(servers.b.channel, "post list"))
    assert "wombat" in titles_listed(await servers.a.alice.slash(servers.a.channel, "post list"))


async def test_export_keeps_scopes_and_loads_back(servers, tmp_path):
    db = servers.db
    written = await db.call(export_posts, out_dir=tmp_path / "out", fmt="text")
    a_file = next(p for p in written if "quokka" in p.read_text(encoding="utf-8"))
    assert a_file.read_text(encoding="utf-8").startswith(f"Server: {servers.a.guild.id}\n")
    library_file = next(p for p in written if SAMPLE_TITLE in p.read_text(encoding="utf-8"))
    library = parse_post(library_file.read_text(encoding="utf-8"))
    assert library.scope is None
    remark = next(c for c in library.comments if c.text == A_REMARK)
    assert remark.discord.guild_id == servers.a.guild.id and remark.discord.user_id == servers.a.alice.id

    fresh = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    report = load(fresh, sources=[str(tmp_path / "out")], now=dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc))
    assert report.summary().startswith("2 loaded")
    with fresh.session() as session:
        stored = {p.title: p for p in iter_posts(session)}
    assert stored[A_TITLE].scope == servers.a.guild.id and stored[SAMPLE_TITLE].scope == 0
    restored = [c for c in stored[SAMPLE_TITLE].comments if c.text == A_REMARK]
    assert [(c.origin, c.discord_guild_id) for c in restored] == [("discord", servers.a.guild.id)]
    again = load(fresh, sources=[str(tmp_path / "out")], now=dt.datetime(2026, 1, 3, tzinfo=dt.timezone.utc))
    assert again.summary().startswith("0 loaded, 0 updated, 2 unchanged")
    with fresh.session() as session:
        assert sum(c.text == A_REMARK for p in iter_posts(session) for c in p.comments) == 1
    fresh.dispose()


async def test_the_operator_sees_everything_and_can_ask_as_a_server(servers, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", servers.db.url)
    from bot.cli._base import console  # noqa: PLC0415

    # rich folds long titles in a narrow terminal; the console reads COLUMNS once, when it is made
    # (by whichever test imported the CLI first), so its width is set here, and put back after
    monkeypatch.setattr(console, "_width", 200)
    runner = CliRunner()
    everything = runner.invoke(app, ["posts"]).output
    assert "quokka" in everything and "Kim Jong" in everything
    as_b = runner.invoke(app, ["posts", "--server", str(servers.b.guild.id)]).output
    assert "quokka" not in as_b and "Kim Jong" in as_b
    assert "No matches" in runner.invoke(app, ["search", "quokka", "--server", str(servers.b.guild.id)]).output
    assert "quokka" in runner.invoke(app, ["search", "quokka"]).output.lower()
    loaded = runner.invoke(app, ["load", "--server", str(servers.b.guild.id), str(SAMPLE)])
    assert "0 loaded, 0 updated, 1 unchanged" in loaded.output  # B sees the library's copy already
