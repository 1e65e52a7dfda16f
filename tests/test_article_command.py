"""/article as people use it (issue #11), through simcord on SQLite and PostgreSQL: a treaty only a
post names, treaty names as people type them, which treaty a bare number means, "2(4)", "V",
"3-5"; and `postbot article` / `postbot references` from the terminal."""

from __future__ import annotations

import json

import discord
import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.services.articles import load_treaty
from bot.settings import Settings

from .helpers import SAMPLE, World, assert_user_error, fixture

RUSSIA_DPRK = "Russia–DPRK Treaty on Comprehensive Strategic Partnership"
NATO = "North Atlantic Treaty"
NPT = "Treaty on the Non-Proliferation of Nuclear Weapons"
UN_CHARTER = "Charter of the United Nations"
VCDR = "Vienna Convention on Diplomatic Relations"
VCCR = "Vienna Convention on Consular Relations"
HARBOUR = "Harbour Cooperation Agreement"
HARBOUR_7 = "Each Party shall keep its harbours open to the vessels of the other Party in peace and in war."
UN_ARTICLE_2 = """Charter of the United Nations

Article 2

The Organization and its Members, in pursuit of the Purposes stated in Article 1, shall act in accordance with the following Principles.

1. The Organization is based on the principle of the sovereign equality of all its Members.

2. All Members, in order to ensure to all of them the rights and benefits resulting from membership, shall fulfil in good faith the obligations assumed by them in accordance with the present Charter.

3. All Members shall settle their international disputes by peaceful means in such a manner that international peace and security, and justice, are not endangered.

4. All Members shall refrain in their international relations from the threat or use of force against the territorial integrity or political independence of any state, or in any other manner inconsistent with the Purposes of the United Nations.

Article 51

Nothing in the present Charter shall impair the inherent right of individual or collective self-defence if an armed attack occurs against a Member of the United Nations.
"""


@pytest.fixture
def settings(database_url) -> Settings:
    """Every test here runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL."""
    return Settings(database_url=database_url)


def post_file(tmp_path, name: str, title: str, body: str, date: str = "July 2, 2024"):
    path = tmp_path / name
    path.write_text(f"{date}\n\n{title}\n\n{body}\n\nNo comments:\n", encoding="utf-8")
    return path


async def load_text(world: World, source, name: str, aliases=()):
    text = source.read_text(encoding="utf-8-sig") if hasattr(source, "read_text") else source
    return await world.db.call(load_treaty, text=text, name=name, aliases=tuple(aliases), now=discord.utils.utcnow())


def fields(embed) -> dict[str, str]:
    return {f.name: f.value for f in embed.fields}


async def article(world: World, number: str, treaty: str | None = None):
    options = {"number": number} | ({"treaty": treaty} if treaty else {})
    return await world.alice.slash(world.channel, "article", **options)


# --------------------------------------------------------------------------- open world


async def test_a_treaty_only_a_post_names_is_quoted(simcord_env, tmp_path):
    world = World(simcord_env)
    body = f"The ports deal was signed at dawn.\n\nArticle 7 of the {HARBOUR} (HCA) says: “{HARBOUR_7}”"
    assert (await world.load(post_file(tmp_path, "harbour.txt", "The harbour deal", body))).summary().startswith("1 loaded")

    for typed in (HARBOUR, "HCA", "harbour cooperation"):
        result = await article(world, "7", typed)
        [embed] = result.response.embeds
        assert not result.ephemeral
        assert embed.title == f"Article 7 — {HARBOUR}" and embed.description == HARBOUR_7
        assert embed.footer.text.startswith("As quoted in The harbour deal (2024-07-02)")
    assert (await article(world, "7")).response.embeds[0].title == f"Article 7 — {HARBOUR}"
    listed = (await world.alice.slash(world.channel, "articles")).response.embeds[0].description
    assert HARBOUR in listed


# --------------------------------------------------------------------------- typed names


@pytest.fixture
async def cited(simcord_env, tmp_path) -> World:
    """The sample post (Russia–DPRK Articles 3, 4), NATO's text, and posts quoting the UN Charter,
    two Vienna Conventions and the Sino-North Korean treaty."""
    world = World(simcord_env)
    await world.load(SAMPLE)
    await load_text(world, fixture("treaties", "treaty_north_atlantic_1949.txt"), NATO, ["NATO"])
    posts = {
        "un.txt": ("Self-defence", "Article 51 of the UN Charter reads: “Nothing in the present Charter shall impair the inherent right.”"),
        "vcdr.txt": ("Embassies", "Article 22 of the Vienna Convention on Diplomatic Relations says the premises are inviolable. "
                                   "Article 31 of the Vienna Convention on Diplomatic Relations grants immunity."),
        "vcdr2.txt": ("Immunity again", "Article 31 of the Vienna Convention on Diplomatic Relations was invoked."),
        "vccr.txt": ("Consuls", "Article 36 of the Vienna Convention on Consular Relations requires notice. "
                                "Article 31 of the Vienna Convention on Consular Relations protects consular premises."),
        "sino.txt": ("Old allies", "Article 2 of the Sino-North Korean Mutual Aid and Cooperation Friendship Treaty binds both."),
    }
    for name, (title, body) in posts.items():
        report = await world.load(post_file(tmp_path, name, title, body))
        assert report.summary().startswith("1 loaded"), report.summary()
    return world


@pytest.mark.parametrize(
    ("typed", "number", "treaty"),
    [
        ("russia", "4", RUSSIA_DPRK),
        ("DPRK", "4", RUSSIA_DPRK),
        ("Russia-DPRK", "4", RUSSIA_DPRK),  # a hyphen, where the name has an en dash
        ("north korea treaty", "4", RUSSIA_DPRK),  # the Sino-North Korean treaty is known too, but has no Article 4
        ("nato", "5", NATO),
        ("un charter", "51", UN_CHARTER),
        ("vienna convention", "22", VCDR),
        ("vienna convention", "36", VCCR),
    ],
)
async def test_names_as_people_type_them(cited, typed, number, treaty):
    result = await article(cited, number, typed)
    [embed] = result.response.embeds
    assert not result.ephemeral, result.response.content
    assert embed.title.endswith(f" — {treaty}") and fields(embed)["Treaty"] == treaty
    assert "Also" not in fields(embed)
    choices = await cited.alice.autocomplete(cited.channel, "article", "treaty", typed, number=number)
    assert choices[0]["value"] == treaty  # what autocomplete offers first is what the name means


async def test_two_close_names_answer_the_best_and_name_the_other(cited):
    result = await article(cited, "31", "vienna convention")
    [embed] = result.response.embeds
    assert embed.title == f"Article 31 — {VCDR}"  # cited by two posts; the consular one by one
    assert fields(embed)["Also"] == "Article 31 of the VCCR. Pick one with the treaty option."


async def test_a_name_that_fits_nothing_or_nothing_known(cited):
    env = cited.env
    assert_user_error(env, await article(cited, "4", "Treaty of Nowhere"), "No treaty called 'Treaty of Nowhere' is known")
    assert_user_error(env, await article(cited, "4", "NPT"), f"No article of {NPT} is known yet")
    assert_user_error(env, await article(cited, "19", "nato"), f"Article 19 of {NATO} is not known. Known articles of {NATO}: 1–14.")


def test_the_cli_resolves_names_the_same_way(monkeypatch, tmp_path, database_url):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    runner = CliRunner()
    assert runner.invoke(app, ["load", str(SAMPLE)]).exit_code == 0
    for typed in ("russia", "DPRK", "Russia-DPRK", "north korea treaty"):
        result = runner.invoke(app, ["article", "4", "--treaty", typed])
        assert result.exit_code == 0, result.output
        assert "Article 4 — Russia–DPRK Treaty" in result.output and "immediately provide military" in " ".join(result.output.split())


# --------------------------------------------------------------------------- which treaty a number means


async def test_article_5_means_the_treaty_the_posts_cite(simcord_env, tmp_path):
    world = World(simcord_env)
    await load_text(world, fixture("treaties", "treaty_north_atlantic_1949.txt"), NATO, ["NATO"])
    await load_text(world, fixture("treaties", "treaty_npt_1968.txt"), "NPT")  # stored later: no longer the default
    for i in range(2):
        body = f"Allies recalled NATO's Article 5 at summit {i}. Article 5 of the North Atlantic Treaty is the core."
        await world.load(post_file(tmp_path, f"nato{i}.txt", f"Collective defence {i}", body))

    result = await article(world, "5")
    [embed] = result.response.embeds
    assert embed.title == f"Article 5 — {NATO}" and embed.description.startswith("The Parties agree that an armed attack")
    assert fields(embed)["Cited in 2 posts"].startswith("• Collective defence")
    assert fields(embed)["Also"] == "Article V of the NPT. Pick one with the treaty option."
    assert (await article(world, "5", "NPT")).response.embeds[0].title == f"Article V — {NPT}"

    choices = await world.alice.autocomplete(world.channel, "article", "number", "5")
    assert choices[0]["value"] == "5" and choices[0]["name"].startswith("Article 5 · North Atlantic Treaty · also NPT · The Parties agree")
    assert all("+" not in c["name"] for c in choices)


# --------------------------------------------------------------------------- what people write


async def test_paragraphs_roman_numerals_and_ranges(simcord_env):
    world = World(simcord_env)
    await load_text(world, UN_ARTICLE_2, UN_CHARTER)
    await load_text(world, fixture("treaties", "treaty_npt_1968.txt"), "NPT")
    await load_text(world, fixture("treaties", "treaty_north_atlantic_1949.txt"), NATO, ["NATO"])

    [embed] = (await article(world, "2(4)", "UN Charter")).response.embeds
    assert embed.title == f"Article 2(4) — {UN_CHARTER}"
    assert embed.description.startswith("4\\. All Members shall refrain in their international relations from the threat or use of force")
    assert "sovereign equality" not in embed.description  # only that paragraph
    [embed] = (await article(world, "Article 2 (9)", "UN Charter")).response.embeds
    assert embed.title == f"Article 2 — {UN_CHARTER}" and "sovereign equality" in embed.description
    assert embed.footer.text.startswith("The text of Article 2 has no numbered paragraph 9; the whole article is shown.")

    for typed in ("V", "v", "5"):
        [embed] = (await article(world, typed, "NPT")).response.embeds
        assert embed.title == f"Article V — {NPT}"

    result = await article(world, "3-5", "NATO")
    titles = [result.response.embeds[0].title]
    message = result.response
    for _ in range(2):
        message = (await world.alice.click(message, label="Next")).response
        titles.append(message.embeds[0].title)
    assert titles == [f"Article {n} — {NATO}" for n in (3, 4, 5)]  # each article on its own page
    buttons = {c["label"]: c for row in message.components for c in row["components"]}
    assert buttons["Next"].get("disabled")

    result = await article(world, "13-16", "NATO")
    assert fields(result.response.embeds[-1])["Not known"] == f"Articles 15, 16 of {NATO}: no text loaded, no post cites it."

    env = world.env
    assert_user_error(env, await article(world, "banana"), "'banana' is not an article number. Type an article as 5, V, 2(4), 42.7, 8 bis or 3-5.")
    assert_user_error(env, await article(world, "1-40", "NATO"), "'1-40' is 40 articles; ask for at most 10 at a time.")


async def test_a_quoted_paragraph_is_shown_for_its_reference(simcord_env, tmp_path):
    """Without the text, "2(4)" shows what a post quotes as paragraph 4, "2(7)" what it quotes as 7."""
    world = World(simcord_env)
    body = (
        "Article 2(4) of the UN Charter states: “All Members shall refrain in their international relations from the threat "
        "or use of force.”\n\nArticle 2(7) of the UN Charter reads: “Nothing contained in the present Charter shall authorize "
        "the United Nations to intervene in matters which are essentially within the domestic jurisdiction of any state.”"
    )
    await world.load(post_file(tmp_path, "charter.txt", "Force and jurisdiction", body))
    [embed] = (await article(world, "2(4)", "un charter")).response.embeds
    assert embed.title == f"Article 2(4) — {UN_CHARTER}" and embed.description.startswith("All Members shall refrain")
    [embed] = (await article(world, "2(7)", "un charter")).response.embeds
    assert embed.title == f"Article 2(7) — {UN_CHARTER}" and embed.description.startswith("Nothing contained in the present Charter")


def test_cli_article_takes_what_people_write(monkeypatch, tmp_path, database_url):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    runner = CliRunner()
    npt = fixture("treaties", "treaty_npt_1968.txt")
    assert runner.invoke(app, ["treaty", "load", str(npt), "--name", "NPT"]).exit_code == 0
    result = runner.invoke(app, ["article", "IV"])
    assert result.exit_code == 0, result.output
    assert f"Article IV — {NPT}" in result.output
    result = runner.invoke(app, ["article", "3-4", "--treaty", "npt"])
    assert result.exit_code == 0 and "Article III —" in result.output and "Article IV —" in result.output
    result = runner.invoke(app, ["article", "banana"])
    assert result.exit_code == 1 and "'banana' is not an article number" in " ".join(result.output.split())


def test_cli_references_prints_what_the_finder_sees(tmp_path):
    text = "NATO's Article 5 says “an armed attack against one shall be an attack against all”. Article 2(4) of the UN Charter too."
    path = tmp_path / "text.txt"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["references", "--json", str(path)])
    assert result.exit_code == 0, result.output
    refs = json.loads(result.output)["references"]
    assert refs[0] == {"number": 5, "paragraph": None, "treaty": NATO, "quote": "an armed attack against one shall be an attack against all",
                       "start": text.index("Article 5"), "end": text.index("Article 5") + len("Article 5")}
    assert refs[1] | {"start": 0, "end": 0} == {"number": 2, "paragraph": "4", "treaty": UN_CHARTER, "quote": None, "start": 0, "end": 0}
    assert text[refs[1]["start"]:refs[1]["end"]].startswith("Article 2(4)")

    result = CliRunner().invoke(app, ["references", "-"], input="Article 7 of the Harbour Cooperation Agreement applies.\n")
    assert result.exit_code == 0 and f"Article 7 · {HARBOUR}" in result.output
    assert "No article references found." in CliRunner().invoke(app, ["references", "-"], input="Nothing here.\n").output


# --------------------------------------------------------------------------- search


async def test_search_finds_the_article_itself_first(simcord_env, tmp_path):
    world = World(simcord_env)
    await load_text(world, fixture("treaties", "treaty_north_atlantic_1949.txt"), NATO, ["NATO"])
    await load_text(world, fixture("treaties", "treaty_npt_1968.txt"), "NPT")
    for i in range(3):
        body = f"NATO's Article 5, NATO and Article 5 again at summit {i}: Article 5 of the North Atlantic Treaty, NATO NATO."
        await world.load(post_file(tmp_path, f"nato{i}.txt", f"NATO's Article 5 at summit {i}", body))

    [embed] = (await world.alice.slash(world.channel, "search", query="Article 5 NATO")).response.embeds
    first = embed.description.split("\n\n")[0]
    assert first.split("\n")[0] == f"**1.** 📜 Article 5 of {NATO}", first
    assert "📰" in embed.description  # the posts follow
    [embed] = (await world.alice.slash(world.channel, "search", query="article 5 npt")).response.embeds
    assert embed.description.split("\n")[0] == f"**1.** 📜 Article V of {NPT}"
