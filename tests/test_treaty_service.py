"""Treaty texts and article answers (bot.services.articles) on SQLite and PostgreSQL, and their CLI twins."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app
from bot.errors import UserFacingError
from bot.models import Article, Quote, Treaty, TreatyAlias
from bot.render import CHOICE_NAME_LIMIT, choice_name
from bot.services.articles import (
    article_choices,
    list_articles,
    load_treaty,
    number_ranges,
    quote_article,
    treaty_choices,
)
from bot.services.loading import load
from bot.services.views import ArticleSource, SourceKind

from .helpers import NOW, SAMPLE, SAMPLE_TITLE, add_post, fixture

RUSSIA_DPRK = "Russia–DPRK Treaty on Comprehensive Strategic Partnership"
NATO = "North Atlantic Treaty"
NPT = "Treaty on the Non-Proliferation of Nuclear Weapons"
ARTICLE_4 = (
    "if one of the Parties is subjected to an armed attack by any State or several States and thus finds itself "
    "in a state of war, the other Party will immediately provide military and other assistance with all the means "
    "at its disposal."
)


def load_sample(db) -> None:
    report = load(db, sources=[str(SAMPLE)], now=NOW)
    assert report.summary().startswith("1 loaded"), report.summary()


def load_text(db, source: Path | str, *, name: str, aliases=()):
    """load_treaty takes the text itself; a fixture path is read as the CLI reads a file."""
    text = source.read_text(encoding="utf-8-sig") if isinstance(source, Path) else source
    return load_treaty(db, text=text, name=name, aliases=tuple(aliases), now=NOW)


def count(db, model) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_sample_post_quotes_articles_4_and_3(db):
    load_sample(db)
    answer = quote_article(db, scope=None, number=4, treaty=None)
    assert answer.text == ARTICLE_4
    assert answer.treaty == RUSSIA_DPRK and answer.source == ArticleSource.QUOTE
    assert answer.quoted_in.title == SAMPLE_TITLE and answer.quoted_in.date.isoformat() == "2024-06-23"
    assert [p.title for p in answer.posts] == [SAMPLE_TITLE]
    assert answer.also == ()

    answer = quote_article(db, scope=None, number=3, treaty="Russia-DPRK strategic partnership treaty")
    assert answer.text.startswith("In the event of an immediate threat of an act of armed aggression")
    assert answer.treaty == RUSSIA_DPRK


def test_unknown_article_and_treaty_name_what_is_known(db):
    load_sample(db)
    with pytest.raises(UserFacingError, match=f"Article 9 of {RUSSIA_DPRK} is not known. Known articles of {RUSSIA_DPRK}: 3, 4"):
        quote_article(db, scope=None, number=9, treaty="Russia-DPRK treaty")
    with pytest.raises(UserFacingError, match="Article 9 is not known.*Russia–DPRK .*articles 3, 4"):
        quote_article(db, scope=None, number=9, treaty=None)
    with pytest.raises(UserFacingError, match="No treaty called 'Treaty of Nowhere' is known.*Known treaties: Russia–DPRK"):
        quote_article(db, scope=None, number=4, treaty="Treaty of Nowhere")
    with pytest.raises(UserFacingError, match="No article of North Atlantic Treaty is known yet"):
        quote_article(db, scope=None, number=5, treaty="NATO")  # in the catalog, but nothing of it is stored


def test_empty_store(db):
    assert list_articles(db, scope=None) == []
    assert treaty_choices(db, scope=None, current="") == [] and article_choices(db, scope=None, current="") == []
    with pytest.raises(UserFacingError, match="No treaty articles are known yet"):
        quote_article(db, scope=None, number=4)


def test_load_the_corpus_treaties(db):
    nato = load_text(db, fixture("treaties", "treaty_north_atlantic_1949.txt"), name="North Atlantic Treaty", aliases=["NATO"])
    assert nato.name == NATO and nato.title == "NORTH ATLANTIC TREATY" and nato.created
    assert nato.articles == tuple(str(n) for n in range(1, 15))
    assert "NATO" in nato.aliases and "Washington Treaty" in nato.aliases  # catalog aliases come along

    npt = load_text(db, fixture("treaties", "treaty_npt_1968.txt"), name="NPT", aliases=[])
    assert npt.name == NPT and npt.requested_name == "NPT"  # matched the catalog's treaty, no twin
    assert npt.articles == ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI")

    # The Russia–DPRK file is a summary plus news quotes: not loadable as a full text, and says why.
    with pytest.raises(UserFacingError, match="no 'Article N' headings"):
        load_text(db, fixture("treaties", "treaty_russia_dprk_2024.txt"), name="Russia–DPRK treaty", aliases=[])

    assert count(db, Treaty) == 2 and count(db, Article) == 25
    with db.session() as session:
        provenance = session.execute(select(Treaty.provenance).where(Treaty.name == NPT)).scalar_one()
    assert provenance.startswith("https://github.com/statengeneraal/laws-markdown/")

    answer = quote_article(db, scope=None, number=3, treaty="npt")
    source = fixture("treaties", "treaty_npt_1968.txt").read_text(encoding="utf-8")
    assert answer.label == "III" and answer.source == ArticleSource.TEXT and answer.quoted_in is None
    assert answer.text.startswith("1. Each non-nuclear-weapon State Party") and "commence not later than the date of such deposit" in answer.text
    assert len(answer.text) > 2500 and answer.text.count("\n\n") == 3  # its four numbered paragraphs
    assert "Statute of the International Atomic Energy Agency" in source and "](../" not in answer.text

    listed = {t.name: t for t in list_articles(db, scope=None)}
    assert listed[NATO].numbers == list(range(1, 15)) and listed[NPT].has_text


def test_the_loading_path_recognises_treaty_texts(db):
    """`postbot load` and /load take full treaty texts beside posts (named by their title line)."""
    report = load(db, sources=[str(SAMPLE), str(fixture("treaties", "treaty_npt_1968.txt"))], now=NOW)
    post, treaty = report.results
    assert post.kind == SourceKind.POST and treaty.kind == SourceKind.TREATY and not treaty.failed
    assert treaty.treaty.name == NPT and treaty.treaty.articles[:3] == ("I", "II", "III") and treaty.treaty.created
    assert quote_article(db, scope=None, number=3, treaty="NPT").source == ArticleSource.TEXT
    assert quote_article(db, scope=None, number=4).also == ("Article IV of the NPT",)  # the sample post's treaty is still the one cited


def test_reload_replaces_articles_and_keeps_one_treaty(db):
    load_text(db, fixture("treaties", "treaty_north_atlantic_1949.txt"), name="North Atlantic Treaty", aliases=["NATO"])
    short = "North Atlantic Treaty\n\nArticle 1\n\nFirst, revised.\n\nArticle 2\n\nSecond, revised.\n"
    result = load_text(db, short, name="NATO", aliases=["NATO", "Atlantic pact 1949"])
    assert result.name == NATO and not result.created and result.replaced == 14
    assert result.articles == ("1", "2") and "Atlantic pact 1949" in result.aliases
    assert count(db, Treaty) == 1 and count(db, Article) == 2
    with db.session() as session:
        aliases = list(session.execute(select(TreatyAlias.alias)).scalars())
    assert len(aliases) == len(set(aliases))
    assert quote_article(db, scope=None, number=2, treaty="Atlantic pact 1949").text == "Second, revised."
    with pytest.raises(UserFacingError, match=f"Known articles of {NATO}: 1, 2"):
        quote_article(db, scope=None, number=5, treaty="NATO")


def test_a_failed_load_changes_nothing(db):
    load_text(db, fixture("treaties", "treaty_north_atlantic_1949.txt"), name="North Atlantic Treaty", aliases=[])
    before = (count(db, Treaty), count(db, TreatyAlias), count(db, Article))
    with pytest.raises(UserFacingError, match="'NATO' already names North Atlantic Treaty"):
        load_text(db, fixture("treaties", "treaty_npt_1968.txt"), name="Some nuclear treaty", aliases=["NATO"])
    with pytest.raises(UserFacingError, match="no 'Article N' headings"):
        load_text(db, "Just a title\n\nSome words.\n", name="Words", aliases=[])
    assert (count(db, Treaty), count(db, TreatyAlias), count(db, Article)) == before


def test_loaded_text_merges_with_the_quoted_treaty(db):
    """A text loaded for the treaty the sample post quotes answers /article 4 with its own words."""
    load_sample(db)
    text = (
        "Treaty on Comprehensive Strategic Partnership between the Russian Federation and the DPRK\n\n"
        "Article 3\n\nThird article, full text.\n\nArticle 4\n\nFourth article, full text.\n"
    )
    result = load_text(db, text, name="Russia-DPRK strategic partnership treaty", aliases=["RF-DPRK treaty"])
    assert result.name == RUSSIA_DPRK and not result.created and result.quotes == 2
    assert count(db, Treaty) == 1
    answer = quote_article(db, scope=None, number=4)
    assert answer.source == ArticleSource.TEXT and answer.text == "Fourth article, full text."
    assert [p.title for p in answer.posts] == [SAMPLE_TITLE]  # the post still cites it


def test_ambiguous_number_prefers_the_most_recently_discussed(db):
    load_sample(db)
    load_text(db, fixture("treaties", "treaty_north_atlantic_1949.txt"), name="North Atlantic Treaty", aliases=["NATO"])
    answer = quote_article(db, scope=None, number=4)
    assert answer.treaty == RUSSIA_DPRK and answer.also == ("Article 4 of the North Atlantic Treaty",)
    assert quote_article(db, scope=None, number=4, treaty="NATO").text.startswith("The Parties will consult together")
    assert quote_article(db, scope=None, number=5).also == ()  # only NATO has an Article 5

    add_post(db, "Consultations", date=dt.date(2024, 7, 1), body='Article 4 of the North Atlantic Treaty says "The Parties will consult together."')
    answer = quote_article(db, scope=None, number=4)
    assert answer.treaty == NATO and answer.source == ArticleSource.TEXT and answer.also == ("Article 4 of the Russia-DPRK treaty",)
    assert [p.title for p in answer.posts] == ["Consultations"]


def test_citing_posts_are_newest_first_and_deduplicated(db, monkeypatch):
    load_sample(db)
    body = "Article 4 of the Russia-DPRK treaty matters. Article 4 of the Russia-DPRK treaty, again, without a quote."
    add_post(db, "Later post", date=dt.date(2024, 6, 25), body=body)
    add_post(db, "Earlier post", date=dt.date(2024, 6, 1), body=body)
    answer = quote_article(db, scope=None, number=4)
    assert [p.title for p in answer.posts] == ["Later post", SAMPLE_TITLE, "Earlier post"]
    assert answer.post_count == 3
    assert answer.quoted_in.title == SAMPLE_TITLE  # the only post that quotes the words
    monkeypatch.setattr("bot.services.articles.POSTS_LISTED", 2)  # the newest are named, all are counted
    answer = quote_article(db, scope=None, number=4)
    assert [p.title for p in answer.posts] == ["Later post", SAMPLE_TITLE] and answer.post_count == 3
    entry = next(a for a in list_articles(db, scope=None)[0].articles if a.number == 4)
    assert entry.post_count == 3 and ARTICLE_4.startswith(entry.preview) and len(entry.preview) == 200


def test_autocomplete_helpers(db):
    load_sample(db)
    load_text(db, fixture("treaties", "treaty_npt_1968.txt"), name="NPT", aliases=[])
    load_text(db, fixture("treaties", "treaty_north_atlantic_1949.txt"), name="North Atlantic Treaty", aliases=["NATO"])

    everything = treaty_choices(db, scope=None, current="")
    assert {c.value for c in everything} == {RUSSIA_DPRK, NATO, NPT}
    assert treaty_choices(db, scope=None, current="nato")[0].value == NATO
    assert treaty_choices(db, scope=None, current="dprk")[0].value == RUSSIA_DPRK
    assert treaty_choices(db, scope=None, current="non-prolif")[0].value == NPT
    assert treaty_choices(db, scope=None, current="zzzzzz") == []

    npt = article_choices(db, scope=None, treaty="NPT", current="")
    assert [c.value for c in npt] == ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI"]  # as the treaty numbers them
    assert choice_name(npt[2]).startswith("Article III: 1. Each non-nuclear-weapon State")
    assert [c.value for c in article_choices(db, scope=None, treaty="NPT", current="1")] == ["I", "X", "XI"]
    assert [c.value for c in article_choices(db, scope=None, treaty="NPT", current="iv")] == ["IV"]  # what "iv" means
    assert [c.value for c in article_choices(db, scope=None, treaty="Russia-DPRK treaty", current="")] == ["3", "4"]
    assert article_choices(db, scope=None, treaty="Russia-DPRK treaty", current="armed attack")[0].value == "4"

    every = article_choices(db, scope=None, treaty=None, current="")
    assert len(every) == 14  # numbers 1..14 across the treaties, each once
    four = next(c for c in every if c.value == "4")
    # the treaty posts cite for it, and the others in words
    assert choice_name(four).startswith("Article 4 · Russia-DPRK treaty · also North Atlantic Treaty, NPT · if one of the Parties")
    assert "+" not in choice_name(four)
    for choices in (everything, npt, every, article_choices(db, scope=None, treaty="half-typed trea", current="")):
        assert len(choices) <= 25 and all(len(choice_name(c)) <= CHOICE_NAME_LIMIT for c in choices)
        assert all(len(str(c.value)) <= 100 for c in choices)


def test_number_ranges():
    assert number_ranges([4, 3]) == "3, 4"
    assert number_ranges([1, 2, 3, 4, 7, 9, 10, 11]) == "1–4, 7, 9–11"
    assert number_ranges([]) == ""


# --------------------------------------------------------------------------- CLI

runner = CliRunner()


def flat(result) -> str:
    """The output with rich's wrapping and panel borders undone."""
    return " ".join(result.output.replace("│", " ").split())


@pytest.fixture
def cli_db(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")


def test_cli_treaty_load_list_and_article(cli_db):
    assert runner.invoke(app, ["load", str(SAMPLE)]).exit_code == 0

    result = runner.invoke(app, ["article", "4"])
    assert result.exit_code == 0, result.output
    assert "Article 4 — Russia–DPRK Treaty" in flat(result) and "immediately provide military and other assistance" in flat(result)
    assert "as quoted in What Putin’s meeting" in flat(result)

    path = fixture("treaties", "treaty_npt_1968.txt")
    result = runner.invoke(app, ["treaty", "load", str(path), "--name", "NPT", "--alias", "the NPT of 1968"])
    assert result.exit_code == 0, result.output
    assert "11 articles loaded" in flat(result) and "the NPT of 1968" in flat(result)

    result = runner.invoke(app, ["treaty", "list"])
    assert result.exit_code == 0 and "quotes only" in flat(result) and "1–11" in flat(result)

    result = runner.invoke(app, ["article", "3", "--treaty", "the NPT of 1968"])
    assert result.exit_code == 0, result.output
    assert "Article III" in flat(result) and "safeguards" in flat(result)

    result = runner.invoke(app, ["article", "4"])
    assert "also: Article IV of the NPT (pick one with --treaty)" in flat(result)


def test_cli_errors_are_one_line(cli_db, tmp_path):
    assert runner.invoke(app, ["load", str(SAMPLE)]).exit_code == 0
    result = runner.invoke(app, ["article", "9", "--treaty", "Russia-DPRK treaty"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "error: Article 9 of Russia–DPRK" in flat(result) and "3, 4" in flat(result)

    result = runner.invoke(app, ["treaty", "load", str(fixture("treaties", "treaty_russia_dprk_2024.txt")), "--name", "x"])
    assert result.exit_code == 1 and "no 'Article N' headings" in flat(result) and "Traceback" not in result.output

    result = runner.invoke(app, ["treaty", "load", str(tmp_path / "missing.txt"), "--name", "x"])
    assert result.exit_code == 1 and "no such file" in flat(result)

    result = runner.invoke(app, ["treaty", "list"])
    assert result.exit_code == 0 and "Russia–DPRK" in flat(result)


# --------------------------------------------------------------------------- issue #11: open world, paragraphs, typed names


def test_a_treaty_a_post_names_is_stored_with_the_acronym_it_defines(db):
    add_post(db, "Ports", body="Article 7 of the Harbour Cooperation Agreement (HCA) says: “Harbours stay open.”")
    add_post(db, "Ports again", date=dt.date(2024, 6, 24), body="Article 8 of the HCA is about pilots.")
    with db.session() as session:
        [(treaty_id, name)] = session.execute(select(Treaty.id, Treaty.name).where(Treaty.name.like("Harbour%"))).all()
        aliases = list(session.execute(select(TreatyAlias.alias).where(TreatyAlias.treaty_id == treaty_id)).scalars())
    assert name == "Harbour Cooperation Agreement" and aliases == ["HCA"]
    assert quote_article(db, scope=None, number="7", treaty="HCA").text == "Harbours stay open."
    assert quote_article(db, scope=None, number=8, treaty="harbour cooperation agreement").posts[0].title == "Ports again"


def test_quotes_keep_their_paragraph(db):
    add_post(db, "Force", body="Article 2(4) of the UN Charter states: “All Members shall refrain from the threat or use of force.” "
                               "Article 2 of the UN Charter lists the principles.")
    with db.session() as session:
        rows = session.execute(select(Quote.number, Quote.paragraph, Quote.text).order_by(Quote.offset)).all()
    assert [(r.number, r.paragraph) for r in rows] == [(2, "4"), (2, None)]
    answer = quote_article(db, scope=None, number="2(4)", treaty="UN Charter")
    assert answer.heading == "Article 2(4) — Charter of the United Nations" and answer.text.startswith("All Members shall refrain")
    answer = quote_article(db, scope=None, number="2(9)", treaty="UN Charter")
    assert answer.paragraph == "4" and answer.note == "No post quotes paragraph 9; this is the best quote of Article 2."


def test_the_best_quote_is_of_the_asked_paragraph_in_a_body_the_longest_then_the_newest(db, monkeypatch):
    """An unloaded article is shown in the wording its posts quote best, chosen among the newest quotes."""
    says = "Article 9 of the Harbour Cooperation Agreement states: "
    add_post(db, "Short", date=dt.date(2024, 5, 1), body=says + "“Harbours stay open.”")
    add_post(db, "Long", date=dt.date(2024, 5, 2), body=says + "“Harbours stay open to every ship.”")
    add_post(db, "Long too", date=dt.date(2024, 5, 3), body=says + "“Harbours stay open to all vessels.”")
    add_post(db, "In a comment", date=dt.date(2024, 5, 4), body="No quote here.",
             comments=(("reader", says + "“Harbours stay open to every ship, boat and barge, always.”"),))
    add_post(db, "Paragraph", date=dt.date(2024, 5, 5), body="Article 9(2) of the Harbour Cooperation Agreement: “Pilots board.”")
    ask = {"scope": None, "treaty": "Harbour Cooperation Agreement"}

    answer = quote_article(db, number="9", **ask)  # equally long: the newer; a body's before a longer comment's
    assert (answer.text, answer.quoted_in.title, answer.source) == ("Harbours stay open to all vessels.", "Long too", ArticleSource.QUOTE)
    answer = quote_article(db, number="9(2)", **ask)  # the asked paragraph's quote, short as it is
    assert (answer.text, answer.paragraph, answer.quoted_in.title) == ("Pilots board.", "2", "Paragraph")
    monkeypatch.setattr("bot.services.articles.QUOTES_CONSIDERED", 2)  # only the two newest quotes count
    answer = quote_article(db, number="9", **ask)
    assert (answer.text, answer.quoted_in.title) == ("Harbours stay open to every ship, boat and barge, always.", "In a comment")


def test_what_people_type_for_an_article():
    from bot.services.article_query import numbered_paragraphs, parse_article_query

    cases = {"5": ((5,), None), "V": ((5,), None), "iv": ((4,), None), "Art. 51": ((51,), None), "2(4)": ((2,), "4"),
             "2 (a)": ((2,), "a"), "42.7": ((42,), "7"), "8 bis": ((8,), "bis"), "3-5": ((3, 4, 5), None),
             "41–42": ((41, 42), None), "3 to 4": ((3, 4), None), "Articles 3 and 4": ((3, 4), None)}
    for typed, (numbers, paragraph) in cases.items():
        query = parse_article_query(typed)
        assert (query.numbers, query.paragraph) == (numbers, paragraph), typed
    for typed in ("", "banana", "0", "10000", "5-3", "IIII", "1-11"):
        with pytest.raises(UserFacingError):
            parse_article_query(typed)
    text = "Intro.\n\n1. One.\n\n(a) sub a;\n\n(b) sub b.\n\n2. Two.\n\n(3) Three."
    assert numbered_paragraphs(text) == {"1": "1. One.\n\n(a) sub a;\n\n(b) sub b.", "2": "2. Two.", "3": "(3) Three."}
    assert numbered_paragraphs("No numbers here.\n\nNone at all.") == {}


def test_typed_names_score_as_autocomplete_ranks():
    from bot.services.typed_names import MIN_SCORE, label_score

    assert label_score("Russia-DPRK", "Russia–DPRK Treaty on Comprehensive Strategic Partnership") == 100  # hyphen vs en dash
    assert label_score("north korea treaty", "Russia–DPRK Treaty on Comprehensive Strategic Partnership") == 90
    assert label_score("un charter", "UN Charter") == 110 and label_score("U.N. charter", "UN Charter") == 110
    assert label_score("un charter", "United Nations Framework Convention on Climate Change") < MIN_SCORE  # a convention
    assert label_score("Nort Atlantic", "North Atlantic Treaty") >= MIN_SCORE  # typos
    assert label_score("nato", "Vienna Convention on the Law of Treaties") < MIN_SCORE
    assert label_score("Treaty of Nowhere", "North Atlantic Treaty") < MIN_SCORE  # "treaty" alone makes nothing alike
