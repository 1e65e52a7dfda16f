"""Treaty articles on request: /article, /articles and their autocompletes, `postbot article` and `treaty`.

Decisions where the issues leave room:
- A treaty is *known* (answerable) when its text is loaded or a post cites one of its articles;
  catalog names alone (bot/treaties.toml) only help to recognise treaties in posts.
- Names typed by users go through `match_treaty` (fuzzy, aliases) over the catalog and the
  store, so "NATO" and "north atlantic treaty" both mean the North Atlantic Treaty.
- An article number that several treaties have, with no treaty named: the answer shows the
  treaty discussed most recently (newest post citing it; then the most recently stored) and
  names the others in `also_in`.
- Without a loaded text, the article's text is the best quote from posts: quotes in post bodies
  before quotes in comments, then the longest, then the newest post.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from sqlmodel import Session

from bot.db import Database
from bot.errors import ParseError, UserFacingError
from bot.ingest.names import match_treaty
from bot.ingest.treaties import parse_treaty
from bot.services.treaties import store_treaty, treaty_names
from bot.services.views import (
    ArticleAnswer,
    ArticleEntry,
    ArticleSource,
    Choice,
    TreatyArticles,
    TreatyLoadResult,
    number_ranges,
)
from bot.store import treaties

AUTOCOMPLETE_LIMIT = 25
CHOICE_LIMIT = 100  # characters of an autocomplete choice's value
PREVIEW_CHARS = 200  # of each article, for /articles and autocomplete
POSTS_LISTED = 25  # newest citing posts an answer names; the rest are counted
QUOTES_CONSIDERED = 500  # newest quotes of an article among which its best wording is chosen
NOTHING_KNOWN = "No treaty articles are known yet: load posts that quote them, or a treaty text with `postbot treaty load`."


@dataclass
class _Known:
    """One answerable treaty: what it has, without the texts (read per article when needed)."""

    id: int
    name: str
    title: str | None
    has_text: bool
    aliases: tuple[str, ...]
    labels: dict[int, str] = field(default_factory=dict)  # number -> label of the loaded text
    cited: dict[int, int] = field(default_factory=dict)  # number -> distinct posts
    last_discussed: dt.date | None = None

    @property
    def numbers(self) -> list[int]:
        return sorted(set(self.labels) | set(self.cited))

    def rank(self) -> tuple:
        """Most recently discussed first; then the most recently stored."""
        return (self.last_discussed is not None, self.last_discussed or dt.date.min, self.id)


def _treaties(session: Session) -> dict[int, _Known]:
    """Every stored treaty; articles and citations not yet read."""
    return {
        t.id: _Known(id=t.id, name=t.name, title=t.title, has_text=t.has_text, aliases=t.aliases)
        for t in treaties.stored_treaties(session).values()
    }


def _known(session: Session, scope: int | None) -> list[_Known]:
    """Treaties with a loaded text or a cited article, most recently discussed first.

    One pass over the quote index: for lists and error messages. /article itself uses targeted
    lookups, which stay fast however many posts cite a treaty.
    """
    known = _treaties(session)
    for treaty_id, found in treaties.citations(session, scope=scope).items():
        k = known[treaty_id]
        k.labels, k.cited, k.last_discussed = found.labels, found.cited, found.last_cited
    return sorted((k for k in known.values() if k.labels or k.cited), key=lambda k: k.rank(), reverse=True)


def _known_list(known: list[_Known]) -> str:
    if not known:
        return NOTHING_KNOWN
    return "Known treaties: " + "; ".join(f"{k.name} (articles {number_ranges(k.numbers)})" for k in known) + "."


def _known_one(session: Session, treaty_id: int, scope: int | None) -> _Known:
    return next(k for k in _known(session, scope) if k.id == treaty_id)


def _shown(name: str) -> str:
    """A name the user typed, as an error message quotes it."""
    name = " ".join(name.split())
    return repr(name if len(name) <= 100 else name[:99] + "…")


def _find(session: Session, name: str, scope: int | None) -> _Known:
    """The answerable treaty a user-typed name means, or a UserFacingError naming the known ones."""
    match = match_treaty(name, treaty_names(session))
    found = match and next((k for k in _treaties(session).values() if k.name == match.name), None)
    if found and treaties.has_article(session, treaty_id=found.id, scope=scope):
        return found
    known = _known(session, scope)
    if match is None:
        raise UserFacingError(f"No treaty called {_shown(name)} is known. {_known_list(known)}")
    raise UserFacingError(f"No article of {match.name} is known yet (no text loaded, no post cites it). {_known_list(known)}")


def _preview(session: Session, *, treaty: _Known, number: int, scope: int | None) -> str:
    """The opening of an article: its own text when loaded, else its best quote."""
    if number in treaty.labels:
        return treaties.article_opening(session, treaty_id=treaty.id, number=number, chars=PREVIEW_CHARS) or ""
    best = treaties.best_quote(session, treaty_id=treaty.id, number=number, scope=scope, considered=QUOTES_CONSIDERED)
    return best.text[:PREVIEW_CHARS] if best else ""


# --------------------------------------------------------------------------- loading texts


def load_treaty(db: Database, *, text: str, name: str, aliases: tuple[str, ...] = (), now: dt.datetime) -> TreatyLoadResult:
    """Store a full treaty text under `name`, then find every post's quotes again: one transaction.

    Raises UserFacingError for a text that is not a full treaty, or an alias that names another treaty.
    """
    try:
        parsed = parse_treaty(text)
    except ParseError as exc:
        raise UserFacingError(f"not a treaty text this bot can load: {exc}") from exc
    with db.session() as session:
        return store_treaty(session, parsed=parsed, name=name, aliases=aliases, now=now)


# --------------------------------------------------------------------------- answering


def quote_article(db: Database, *, number: int, scope: int | None, treaty: str | None = None) -> ArticleAnswer:
    """Article `number` of `treaty` (or of the most recently discussed treaty that has it), with
    the posts the viewer sees that cite it; its wording is the treaty's or the best quote the viewer sees."""
    with db.session() as session:
        if treaty and treaty.strip():
            chosen = _find(session, treaty, scope)
            if not treaties.has_article(session, treaty_id=chosen.id, scope=scope, number=number):
                numbers = _known_one(session, chosen.id, scope).numbers
                raise UserFacingError(
                    f"Article {number} of {chosen.name} is not known. Known articles of {chosen.name}: {number_ranges(numbers)}."
                )
            also: list[str] = []
        else:
            having = [
                k for k in _treaties(session).values() if treaties.has_article(session, treaty_id=k.id, scope=scope, number=number)
            ]
            if not having:
                known = _known(session, scope)
                where = "" if not known else " in any treaty"
                raise UserFacingError(f"Article {number} is not known{where}. {_known_list(known)}")
            for k in having:
                k.last_discussed = treaties.last_cited(session, treaty_id=k.id, scope=scope)
            chosen, *others = sorted(having, key=lambda k: k.rank(), reverse=True)
            also = [k.name for k in others]
        posts, post_count = treaties.citing_posts(session, treaty_id=chosen.id, number=number, scope=scope, limit=POSTS_LISTED)
        common = {"treaty": chosen.name, "number": number, "posts": tuple(posts), "post_count": post_count, "also_in": tuple(also)}
        article = treaties.get_article(session, treaty_id=chosen.id, number=number)
        if article is not None:
            return ArticleAnswer(
                label=article.label, text=article.text, source=ArticleSource.TEXT, quoted_in=None, chapter=article.chapter, **common
            )
        best = treaties.best_quote(session, treaty_id=chosen.id, number=number, scope=scope, considered=QUOTES_CONSIDERED)
        return ArticleAnswer(
            label=str(number),
            text=best.text if best else None,
            source=ArticleSource.QUOTE if best else ArticleSource.NONE,
            quoted_in=best.post if best else None,
            **common,
        )


def list_articles(db: Database, *, scope: int | None, treaty: str | None = None) -> list[TreatyArticles]:
    """The known treaties (or the one named) and their articles, most recently discussed first.

    Previews (the opening of each article) only for one named treaty: the full list names numbers.
    """
    with db.session() as session:
        named = treaty and treaty.strip()
        known = [_known_one(session, _find(session, treaty, scope).id, scope)] if named else _known(session, scope)
        return [
            TreatyArticles(
                name=k.name,
                title=k.title,
                has_text=k.has_text,
                articles=tuple(
                    ArticleEntry(
                        number=n,
                        label=k.labels.get(n, str(n)),
                        has_text=n in k.labels,
                        post_count=k.cited.get(n, 0),
                        preview=_preview(session, treaty=k, number=n, scope=scope) if len(known) == 1 else "",
                    )
                    for n in k.numbers
                ),
            )
            for k in known
        ]


# --------------------------------------------------------------------------- autocomplete


def _choice_value(k: _Known) -> str:
    """A value that fits Discord's 100 chars and still matches the treaty back."""
    if len(k.name) <= CHOICE_LIMIT:
        return k.name
    short = [a for a in k.aliases if len(a) <= CHOICE_LIMIT]
    return min(short, key=len) if short else k.name[:CHOICE_LIMIT]


def treaty_choices(db: Database, *, scope: int | None, current: str = "") -> list[Choice]:
    """Treaties the viewer knows whose name or an alias resembles what was typed (best first)."""
    with db.session() as session:
        known = _known(session, scope)
    typed = current.strip().casefold()
    scored: list[tuple[float, int, str, _Known]] = []
    for order, k in enumerate(known):
        if not typed:
            scored.append((0, order, "", k))
            continue
        best, via = 0.0, ""
        for label in (k.name, *k.aliases):
            folded = label.casefold()
            score = 100.0 if folded.startswith(typed) else 95.0 if typed in folded else fuzz.partial_ratio(typed, folded)
            if score > best:
                best, via = score, label
        if best >= 70:
            scored.append((-best, order, via, k))
    scored.sort(key=lambda s: (s[0], s[1]))
    choices = []
    for _, _, via, k in scored[:AUTOCOMPLETE_LIMIT]:
        shown = k.name if via in ("", k.name) else f"{k.name} ({via})"
        count = f" · {len(k.numbers)} article{'s' if len(k.numbers) != 1 else ''}"
        choices.append(Choice(label=shown, suffix=count, value=_choice_value(k)))
    return choices


def _short_name(k: _Known) -> str:
    """The treaty's first alias when shorter ("NATO", "NPT"): previews need the room."""
    return min([k.name, *k.aliases[:1]], key=len)


def article_choices(db: Database, *, scope: int | None, treaty: str | None = None, current: str = "") -> list[Choice]:
    """Article numbers (of the typed treaty, else of every known treaty) with a short preview.

    Previews are read only for candidates, until AUTOCOMPLETE_LIMIT choices are found.
    """
    typed = current.strip().casefold()
    choices: list[Choice] = []
    with db.session() as session:
        known = _known(session, scope)
        if treaty and treaty.strip():
            try:
                known = [_known_one(session, _find(session, treaty, scope).id, scope)]
            except UserFacingError:
                pass  # half-typed treaty: offer every treaty's articles
        for number in sorted({n for k in known for n in k.numbers}):
            if typed.isdigit() and not str(number).startswith(typed):
                continue
            having = [k for k in known if number in k.numbers]  # most recently discussed first
            k = having[0]
            label = k.labels.get(number, str(number))
            preview = " ".join(_preview(session, treaty=k, number=number, scope=scope).split())
            if typed and not typed.isdigit() and not (label.casefold() == typed or typed in preview.casefold()):
                continue
            where = "" if len(known) == 1 else f" ({_short_name(k)}{f' +{len(having) - 1}' if len(having) > 1 else ''})"
            head = f"Article {label}{where}"
            name = f"{head}: {preview}" if preview else f"{head}: cited in {k.cited.get(number, 0)} post(s)"
            choices.append(Choice(label=name, value=number))
            if len(choices) == AUTOCOMPLETE_LIMIT:
                break
    return choices
