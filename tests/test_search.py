"""Full-text search (bot.services.search) on SQLite (FTS5) and, with TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, insert, select, update

from bot.errors import UserFacingError
from bot.models import Comment, CommentOrigin, Post
from bot.render.posts import belongs_to, snippet_markdown, snippet_text
from bot.services.articles import load_treaty
from bot.services.search import hits_of, query_terms, rank, search
from bot.store.search import ARTICLE, COMMENT, POST

from .helpers import NOW, add_post

SERVER_A, SERVER_B = 1001, 1002

TREATY = """North Atlantic Treaty

The Parties to this Treaty reaffirm their faith in the purposes and principles of the Charter.

Article 1

The Parties undertake to settle any international dispute by peaceful means.

Article 5

The Parties agree that an armed attack against one or more of them shall be considered an attack against them all.
"""


def add(db, title: str, body: str, *, day: int = 1, comments: tuple[tuple[str, str], ...] = ()) -> int:
    return add_post(db, title, body=body, date=dt.date(2024, 6, day), source="Test", comments=comments)


@pytest.fixture
def store(db):
    ids = {
        "title": add(db, "Pipeline sabotage in the Baltic", "Divers found damage on the seabed.", day=3),
        "body": add(db, "Energy prices", "Gas prices rose after the pipeline was damaged. Markets reacted.", day=2),
        "other": add(
            db,
            "Summit in Pyongyang",
            "The leaders signed a partnership treaty: both parties promise mutual defence.",
            day=1,
            comments=(("Ann", "This treaty changes the balance in Asia for all parties."), ("Bob", "Nothing new under the sun.")),
        ),
    }
    load_treaty(db, text=TREATY, name="North Atlantic Treaty", now=NOW)
    return ids


def test_title_match_ranks_above_body_match(db, store):
    hits = search(db, scope=None, query="pipeline")
    assert [h.id for h in hits if h.kind == POST][:2] == [store["title"], store["body"]]
    assert snippet_markdown(hits[0].heading) == "**Pipeline** sabotage in the Baltic"
    assert belongs_to(hits[0]) == f"post #{hits[0].id}: Pipeline sabotage in the Baltic (2024-06-03)"


def test_snippet_bolds_the_matched_words(db, store):
    [hit] = search(db, scope=None, query="markets")
    assert hit.kind == POST and hit.id == store["body"]
    assert "**Markets**" in snippet_markdown(hit.snippet)
    assert "Markets reacted" in snippet_text(hit.snippet) and "**" not in snippet_text(hit.snippet)


def test_snippet_escapes_stored_markdown(db):
    add(db, "Markdown in a body", "Some *stars* and __underlines__ around the keyword zebra, and a `tick` @everyone.")
    [hit] = search(db, scope=None, query="zebra")
    shown = snippet_markdown(hit.snippet)
    assert "**zebra**" in shown
    assert r"\*stars\*" in shown and r"\_\_underlines\_\_" in shown and r"\`tick\`" in shown


def test_comments_are_found_with_their_post(db, store):
    hits = search(db, scope=None, query="balance Asia")
    assert [(h.kind, h.author) for h in hits] == [(COMMENT, "Ann")]
    assert hits[0].post_id == store["other"]
    # the comment's own date, not its post's: this one's file gives none
    assert belongs_to(hits[0]) == f"comment #{hits[0].id} by Ann on post #{store['other']}: Summit in Pyongyang"
    assert "**balance**" in snippet_markdown(hits[0].snippet)


def test_treaty_articles_are_found(db, store):
    hits = search(db, scope=None, query="armed attack")
    assert hits[0].kind == ARTICLE and hits[0].article == "5"
    assert belongs_to(hits[0]) == "Article 5 of North Atlantic Treaty"
    assert "**armed**" in snippet_markdown(hits[0].snippet)


def test_every_kind_in_one_search(db, store):
    kinds = {h.kind for h in search(db, scope=None, query="parties")}
    assert kinds == {POST, COMMENT, ARTICLE}


def test_all_words_first_then_any_word(db, store):
    assert {h.id for h in search(db, scope=None, query="pipeline rose")} == {store["body"]}
    # No document has both words: each one that has either comes back.
    assert {h.id for h in search(db, scope=None, query="seabed markets")} == {store["title"], store["body"]}


def test_stemming_finds_other_forms(db, store):
    assert store["body"] in {h.id for h in search(db, scope=None, query="damages")}


def test_limit(db):
    for day in range(1, 21):
        add(db, f"Report {day}", f"Another report number {day} about fisheries.", day=day)
    assert len(search(db, scope=None, query="fisheries", limit=7)) == 7


def test_index_follows_updates_and_deletes(db, store):
    add(db, "Energy prices", "Electricity got cheaper; nothing about gas at all.", day=2)  # same key: an update
    assert search(db, scope=None, query="markets") == []
    assert [h.id for h in search(db, scope=None, query="electricity")] == [store["body"]]
    with db.session() as session:
        session.execute(update(Post).where(Post.id == store["title"]).values(title="Cable cut in the Baltic"))
    assert store["title"] not in {h.id for h in search(db, scope=None, query="sabotage")}
    assert [h.id for h in search(db, scope=None, query="cable")] == [store["title"]]
    with db.session() as session:
        session.execute(delete(Post).where(Post.id == store["other"]))  # its comments go by cascade
    assert search(db, scope=None, query="Pyongyang") == []
    assert search(db, scope=None, query="balance Asia") == []


def test_index_follows_discord_comments(db, store):
    with db.session() as session:
        comment_id = session.execute(
            insert(Comment).returning(Comment.id),
            {"post_id": store["body"], "author": "carol", "text": "Heating oil too.", "origin": CommentOrigin.DISCORD, "created_at": NOW},
        ).scalar_one()
    assert [(h.kind, h.id) for h in search(db, scope=None, query="heating")] == [(COMMENT, comment_id)]
    with db.session() as session:
        session.execute(update(Comment).where(Comment.id == comment_id).values(text="Firewood too."))
    assert search(db, scope=None, query="heating") == []
    assert [h.id for h in search(db, scope=None, query="firewood")] == [comment_id]
    with db.session() as session:
        session.execute(delete(Comment).where(Comment.id == comment_id))
    assert search(db, scope=None, query="firewood") == []


def test_treaty_reload_replaces_its_articles(db, store):
    load_treaty(db, text=TREATY.replace("peaceful means", "arbitration"), name="North Atlantic Treaty", now=NOW)
    assert search(db, scope=None, query="peaceful") == []
    assert [h.article for h in search(db, scope=None, query="arbitration")] == ["1"]


HOSTILE = [
    '"',
    "'",
    '"unbalanced',
    "AND OR NOT",
    "NOT pipeline",
    "pipeline AND",
    "NEAR(",
    "NEAR(pipeline seabed, 2)",
    "*",
    "pipe*",
    "^pipeline",
    "col:foo",
    "title:pipeline",
    "'; DROP TABLE post; --",
    "\" OR 1=1 --",
    "pipeline)) OR ((",
    "a & b | !c <-> d:*",
    "-pipeline +seabed",
    "\\",
    "%_%",
    "\x00pipeline\x07",
    "Пайплайн 管道 خط الأنابيب 🚰 café",
    "zebra " * 2000,
    "x" * 10_000,
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_are_words(db, store, query):
    if not query_terms(query):
        with pytest.raises(UserFacingError):
            search(db, scope=None, query=query)
        return
    hits = search(db, scope=None, query=query)
    assert isinstance(hits, list)
    with db.session() as session:  # and the store is intact
        assert session.execute(select(Post.id).limit(1)).first() is not None


def test_operators_and_syntax_are_plain_words(db, store):
    # FTS5 or tsquery would read these as syntax; here they are only words.
    assert search(db, scope=None, query="NEAR(pipeline seabed)") == search(db, scope=None, query="near pipeline seabed")
    assert search(db, scope=None, query="pipeline NOT seabed") == search(db, scope=None, query="pipeline not seabed")
    assert {h.id for h in search(db, scope=None, query='"pipeline" -seabed')} == {store["title"]}
    assert search(db, scope=None, query='seabed:"pipeline"') == search(db, scope=None, query="seabed pipeline")  # not a column filter
    assert store["title"] in {h.id for h in search(db, scope=None, query="'; DROP TABLE post; -- pipeline")}


@pytest.mark.parametrize("query", ["", "   ", "*", '"', "-- ;", "\x00"])
def test_a_query_without_words_is_a_user_error(db, query):
    with pytest.raises(UserFacingError):
        search(db, scope=None, query=query)


def test_query_terms():
    assert query_terms('  "Kim   Jong-un" (treaty) col:foo NEAR( * ') == ["Kim", "Jong", "un", "treaty", "col", "foo", "NEAR"]
    assert query_terms("Пайплайн 管道 café हिन्दी") == ["Пайплайн", "管道", "café", "हिन्दी"]
    assert query_terms("a " * 100) == ["a"] * 16


def test_a_common_word_ranks_only_its_newest_matches(db, monkeypatch):
    """Past RANKED_PER_KIND matches, only the newest are ranked: the best old match drops out."""
    import bot.store.search as search_module

    oldest = add(db, "Herring herring herring", "Herring quotas again.", day=1)
    newer = [add(db, f"Market report {i}", f"Prices of herring and cod, week {i}.", day=2 + i) for i in range(4)]
    assert search(db, scope=None, query="herring")[0].id == oldest  # the title match wins while every match is ranked
    monkeypatch.setattr(search_module, "RANKED_PER_KIND", 3)
    hits = search(db, scope=None, query="herring")
    assert [h.kind for h in hits] == [POST] * 3
    assert {h.id for h in hits} == set(newer[-3:])


def test_equally_good_matches_beyond_the_limit_are_cut_as_they_are_ordered(db):
    """Hits of one score are ordered by id (hit_order); the `limit` shown are the first of that order, the same every time."""
    ids = [add(db, f"Report {n:02d}", "Sanctions were extended for another year.") for n in range(40)]
    hits = search(db, scope=None, query="sanctions", limit=10)
    scores = {h.score for h in hits if h.kind == POST}
    assert len(scores) == 1  # forty equally good post matches, ten shown
    assert [h.id for h in hits] == ids[:10]


def test_a_page_shown_later_leaves_out_what_the_viewer_no_longer_sees(db):
    """A page's snippets are made when it is shown, after the ranking: a hit deleted since is left
    out, and so is one whose id now holds another server's row (SQLite may reuse a deleted row's id)."""
    kept, moved = add(db, "Fisheries report", "About fisheries.", day=2), add(db, "Fisheries news", "More fisheries.", day=1)
    ranking, first = rank(db, query="fisheries", scope=SERVER_A, show=0)
    assert first == [] and {hit_id for _, hit_id, _ in ranking.hits} == {kept, moved}
    with db.session() as session:
        session.execute(update(Post).where(Post.id == moved).values(scope=SERVER_B))
    assert [h.id for h in hits_of(db, ranking, start=0, stop=5)] == [kept]
    with db.session() as session:
        session.execute(delete(Post).where(Post.id == kept))
    assert hits_of(db, ranking, start=0, stop=5) == []
