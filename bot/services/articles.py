"""Treaty articles on request: /article, /articles and their autocompletes, `postbot article` and `treaty`.

Decisions where the issues leave room:
- A treaty is *known* (answerable) when its text is loaded or a post cites one of its articles;
  catalog names alone (bot/treaties.toml) only help to recognise treaties in posts. Treaties a
  post names that the catalog does not know are stored as the post writes them (open world).
- Names typed by users are scored as autocomplete ranks them (`bot.services.typed_names`, over
  every name and alias, the catalog's and the store's): the best-scoring treaty that has the
  article answers; treaties scoring close to it that have it too are named in `also`.
- An article number that several treaties have, with no treaty named: the treaty whose article
  most posts the viewer sees cite, then the one cited most recently, then loaded texts (of
  those, the treaty discussed most recently, then the newest stored); `also` names the others
  ("Article V of the NPT").
- "3-5" answers each article of the treaty that has most of them (chosen as above); numbers it
  lacks are listed as missing. "2(4)" shows paragraph 4 when the loaded text numbers its
  paragraphs, else the whole article with a note; without a text, quotes of that paragraph
  come first.
- Without a loaded text, the article's text is the best quote from posts: quotes of the asked
  paragraph first, then quotes in post bodies before quotes in comments, then the longest,
  then the newest post.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session

from bot.db import Database
from bot.errors import ParseError, UserFacingError
from bot.ingest.names import match_treaty
from bot.ingest.treaties import parse_treaty
from bot.services.article_query import LATIN, ArticleQuery, article_query, numbered_paragraphs, parse_article_query, query_numbers
from bot.services.treaties import store_treaty, treaty_names
from bot.services.typed_names import CLOSE, MIN_SCORE, name_score
from bot.services.views import (
    ArticleAnswer,
    ArticleAnswers,
    ArticleEntry,
    ArticleSource,
    Choice,
    TreatyArticles,
    TreatyLoadResult,
    article_label,
    number_ranges,
)
from bot.store import treaties
from bot.store.treaties import NumberCitations

AUTOCOMPLETE_LIMIT = 25
CHOICE_LIMIT = 100  # characters of an autocomplete choice's value
PREVIEW_CHARS = 200  # of each article, for /articles and autocomplete
POSTS_LISTED = 25  # newest citing posts an answer names; the rest are counted
QUOTES_CONSIDERED = 500  # newest quotes of an article among which its best wording is chosen
NAME_IN_CHOICE = 45  # characters of a treaty's name in an article choice; longer names show an alias
SHORT_NAME = 30  # characters of a treaty's name when it is named beside another ("Also: Article V of the NPT")
ELIGIBLE = 20.0  # a typed name means only treaties scoring within this of its best match
NOTHING_KNOWN = "No treaty articles are known yet: load posts that quote them, or a treaty text with `postbot treaty load`."


@dataclass
class _Known:
    """One stored treaty: what it has, without the texts (read per article when needed)."""

    id: int
    name: str
    title: str | None
    has_text: bool
    aliases: tuple[str, ...]
    names: tuple[str, ...] = ()  # its name and every alias, the catalog's too: what typed names match
    labels: dict[int, str] = field(default_factory=dict)  # number -> label of the loaded text
    cited: dict[int, int] = field(default_factory=dict)  # number -> distinct posts
    last_discussed: dt.date | None = None

    @property
    def numbers(self) -> list[int]:
        return sorted(set(self.labels) | set(self.cited))

    def rank(self) -> tuple:
        """Most recently discussed first; then the most recently stored."""
        return (self.last_discussed is not None, self.last_discussed or dt.date.min, self.id)

    def short(self) -> str:
        """A short name for naming it beside another: its own when short ("North Atlantic Treaty"),
        else its first short alias ("NPT", "Russia-DPRK treaty"), else its shortest."""
        if len(self.name) <= SHORT_NAME:
            return self.name
        fitting = [a for a in self.aliases if 3 <= len(a) <= SHORT_NAME]
        return fitting[0] if fitting else min([self.name, *self.aliases], key=len)


def _the(name: str) -> str:
    return name if name.casefold().startswith("the ") else f"the {name}"


def _treaties(session: Session) -> dict[int, _Known]:
    """Every stored treaty, with the catalog's aliases among its names; articles and citations not yet read."""
    stored = treaties.stored_treaties(session)
    every = {t.name: (t.name, *t.aliases) for t in treaty_names(session, stored)}
    return {
        t.id: _Known(id=t.id, name=t.name, title=t.title, has_text=t.has_text, aliases=t.aliases, names=every.get(t.name, (t.name,)))
        for t in stored.values()
    }


def _known(session: Session, scope: int | None) -> list[_Known]:
    """Treaties with a loaded text or a cited article, most recently discussed first.

    One pass over the quote index: for lists, autocomplete and error messages. /article itself
    uses targeted lookups, which stay fast however many posts cite a treaty.
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


def _scored(typed: str, stored: dict[int, _Known]) -> list[tuple[float, _Known]]:
    """The treaties a typed name may mean, best first: scoring at least MIN_SCORE and near the best."""
    scored = sorted(((name_score(typed, k.names)[0], k) for k in stored.values()), key=lambda s: (-s[0], -s[1].id))
    if not scored or scored[0][0] < MIN_SCORE:
        return []
    floor = max(MIN_SCORE, scored[0][0] - ELIGIBLE)
    return [(score, k) for score, k in scored if score >= floor]


def _not_named(session: Session, typed: str, scored: list[tuple[float, _Known]], scope: int | None, numbers: list[int]) -> UserFacingError:
    """Why a typed name answers nothing: no such treaty, nothing of it known, or not these articles."""
    known = _known(session, scope)
    best = next((k for _, k in scored if any(k.id == j.id for j in known)), None)
    if best is not None and numbers:
        numbers_known = _known_one(session, best.id, scope).numbers
        which = f"Article {numbers[0]}" if len(numbers) == 1 else f"Articles {number_ranges(numbers)}"
        verb = "is" if len(numbers) == 1 else "are"
        return UserFacingError(f"{which} of {best.name} {verb} not known. Known articles of {best.name}: {number_ranges(numbers_known)}.")
    match = scored[0][1].name if scored else getattr(match_treaty(typed, treaty_names(session)), "name", None)
    if match is None:
        return UserFacingError(f"No treaty called {_shown(typed)} is known. {_known_list(known)}")
    return UserFacingError(f"No article of {match} is known yet (no text loaded, no post cites it). {_known_list(known)}")


def _named(session: Session, typed: str, scope: int | None) -> _Known:
    """The answerable treaty a typed name means (for /articles), or a UserFacingError naming the known ones."""
    scored = _scored(typed, _treaties(session))
    for _, k in scored:
        if treaties.has_article(session, treaty_id=k.id, scope=scope):
            return k
    raise _not_named(session, typed, scored, scope, [])


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


# --------------------------------------------------------------------------- which treaty


@dataclass
class _Candidate:
    """A treaty that has (some of) the asked articles, and how the viewer's posts cite them."""

    treaty: _Known
    score: float  # how well the typed name fits it (0 when none was typed)
    loaded: dict[int, str]  # asked numbers with a loaded text -> label
    cited: dict[int, NumberCitations]  # asked numbers cited in the viewer's posts
    last_discussed: dt.date | None = None  # any of its articles (only asked for loaded-only texts)

    @property
    def numbers(self) -> list[int]:
        return sorted(set(self.loaded) | set(self.cited))

    def key(self, roman: bool = False) -> tuple:
        """Has most of the asked articles; most citing posts; cited most recently; a loaded text; numbers
        them as the question does ("5" or "V"); discussed; newest."""
        last = max((c.last_cited for c in self.cited.values()), default=dt.date.min)
        posts = sum(c.posts for c in self.cited.values())
        literal = sum(_literal(self.loaded.get(n, str(n)), roman) for n in self.numbers)
        return (len(self.numbers), posts, last, bool(self.loaded), literal, self.last_discussed or dt.date.min, self.treaty.id)

    def also(self, asked: list[int]) -> str:
        numbers = [n for n in asked if n in self.numbers]
        if len(numbers) == 1:
            return f"Article {self.loaded.get(numbers[0], str(numbers[0]))} of {_the(self.treaty.short())}"
        return f"Articles {number_ranges(numbers)} of {_the(self.treaty.short())}"


def _literal(label: str, roman: bool) -> bool:
    """Does the treaty write the article as the question did ("5" for 5, "V" for V)?"""
    return label.isdigit() != roman


def _candidates(session: Session, *, pool: list[tuple[float, _Known]], numbers: list[int], scope: int | None) -> list[_Candidate]:
    cited = treaties.number_citations(session, treaty_ids=[k.id for _, k in pool], numbers=numbers, scope=scope)
    loaded = treaties.loaded_numbers(session, numbers=numbers)
    found = [_Candidate(k, score, loaded.get(k.id, {}), cited.get(k.id, {})) for score, k in pool]
    found = [c for c in found if c.numbers]
    for c in found:
        if not c.cited:  # only a loaded text: is the treaty discussed at all?
            c.last_discussed = treaties.last_cited(session, treaty_id=c.treaty.id, scope=scope)
    return found


def _choose(
    session: Session, *, numbers: list[int], scope: int | None, typed: str | None, roman: bool = False
) -> tuple[_Candidate, list[str]]:
    """The treaty that answers, and the other articles the question may have meant ("Article V of the NPT")."""
    stored = _treaties(session)
    if typed:
        scored = _scored(typed, stored)
        found = sorted(_candidates(session, pool=scored, numbers=numbers, scope=scope), key=lambda c: (c.score, c.key(roman)), reverse=True)
        if not found:
            raise _not_named(session, typed, scored, scope, numbers)
        best, others = found[0], [c for c in found[1:] if c.score >= found[0].score - CLOSE]
    else:
        found = sorted(_candidates(session, pool=[(0.0, k) for k in stored.values()], numbers=numbers, scope=scope),
                       key=lambda c: c.key(roman), reverse=True)
        if not found:
            known = _known(session, scope)
            which = f"Article {numbers[0]} is" if len(numbers) == 1 else f"Articles {number_ranges(numbers)} are"
            raise UserFacingError(f"{which} not known{' in any treaty' if known else ''}. {_known_list(known)}")
        best, others = found[0], found[1:]
    return best, [c.also(numbers) for c in others]


# --------------------------------------------------------------------------- answering


def _paragraph_of(text: str, label: str, paragraph: str | None) -> tuple[str, str | None, str | None]:
    """(the text to show, the paragraph it is, a note) for a loaded article and an asked paragraph."""
    if paragraph is None:
        return text, None, None
    found = numbered_paragraphs(text).get(paragraph)
    if found is not None:
        return found, paragraph, None
    if paragraph in LATIN:
        return text, None, f"The loaded text has no Article {label} {paragraph}; Article {label} is shown."
    return text, None, f"The text of Article {label} has no numbered paragraph {paragraph}; the whole article is shown."


def answer_article(
    session: Session, *, treaty_id: int, name: str, number: int, scope: int | None, paragraph: str | None = None,
    also: tuple[str, ...] = (), counted: int | None = None,
) -> ArticleAnswer:
    """Article `number` (or one paragraph of it) of a stored treaty, as the viewer sees it (`counted`: how
    many of the viewer's posts cite it, when the caller has counted)."""
    posts, post_count = treaties.citing_posts(
        session, treaty_id=treaty_id, number=number, scope=scope, limit=POSTS_LISTED, counted=counted
    )
    common = {"treaty": name, "number": number, "posts": tuple(posts), "post_count": post_count, "also": also}
    article = treaties.get_article(session, treaty_id=treaty_id, number=number)
    if article is not None:
        text, shown, note = _paragraph_of(article.text, article.label, paragraph)
        return ArticleAnswer(
            label=article.label, text=text, source=ArticleSource.TEXT, quoted_in=None, chapter=article.chapter,
            paragraph=shown, note=note, **common,
        )
    best = treaties.best_quote(session, treaty_id=treaty_id, number=number, scope=scope, considered=QUOTES_CONSIDERED, paragraph=paragraph)
    note = None
    if best is not None and paragraph is not None and best.paragraph != paragraph:
        note = f"No post quotes paragraph {paragraph}; this is the best quote of Article {number}."
    return ArticleAnswer(
        label=str(number),
        text=best.text if best else None,
        source=ArticleSource.QUOTE if best else ArticleSource.NONE,
        quoted_in=best.post if best else None,
        paragraph=best.paragraph if best else paragraph,
        note=note,
        **common,
    )


def quote_articles(db: Database, *, query: str | int, scope: int | None, treaty: str | None = None) -> ArticleAnswers:
    """The articles a user asked for ("5", "V", "2(4)", "3-5") of `treaty`, or of the treaty the
    question most likely means, with the posts the viewer sees that cite them."""
    asked: ArticleQuery = parse_article_query(query)
    numbers = list(asked.numbers)
    with db.session() as session:
        chosen, also = _choose(session, numbers=numbers, scope=scope, typed=treaty.strip() if treaty else None, roman=asked.roman)
        have = set(chosen.numbers)
        answers = tuple(
            answer_article(session, treaty_id=chosen.treaty.id, name=chosen.treaty.name, number=n, scope=scope,
                           paragraph=asked.paragraph, also=tuple(also) if i == 0 else (),
                           counted=chosen.cited[n].posts if n in chosen.cited else 0)
            for i, n in enumerate(n for n in numbers if n in have)
        )
        return ArticleAnswers(answers=answers, missing=tuple(n for n in numbers if n not in have))


def quote_article(db: Database, *, number: int | str, scope: int | None, treaty: str | None = None) -> ArticleAnswer:
    """One article (the first of a range): see quote_articles."""
    return quote_articles(db, query=number, scope=scope, treaty=treaty).answers[0]


def list_articles(db: Database, *, scope: int | None, treaty: str | None = None) -> list[TreatyArticles]:
    """The known treaties (or the one named) and their articles, most recently discussed first.

    Previews (the opening of each article) only for one named treaty: the full list names numbers.
    """
    with db.session() as session:
        named = treaty and treaty.strip()
        known = [_known_one(session, _named(session, treaty, scope).id, scope)] if named else _known(session, scope)
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


def treaty_choices(db: Database, *, scope: int | None, current: str = "", number: str | None = None) -> list[Choice]:
    """Treaties the viewer knows whose name or an alias resembles what was typed, best first: when
    the article is typed already, those that have it first (as /article resolves the name)."""
    with db.session() as session:
        known = _known(session, scope)
    typed = current.strip()
    wanted = set(query_numbers(number) or ()) if number else set()
    scored: list[tuple[bool, float, int, str, _Known]] = []
    for order, k in enumerate(known):
        score, via = name_score(typed, k.names) if typed else (0.0, "")
        if not typed or score >= MIN_SCORE:
            scored.append((bool(wanted) and not wanted & set(k.numbers), -score, order, via, k))
    scored.sort(key=lambda s: s[:3])
    choices = []
    for _, _, _, via, k in scored[:AUTOCOMPLETE_LIMIT]:
        shown = k.name if via in ("", k.name) else f"{k.name} ({via})"
        count = f" · {len(k.numbers)} article{'s' if len(k.numbers) != 1 else ''}"
        choices.append(Choice(label=shown, suffix=count, value=_choice_value(k)))
    return choices


def _choice_name(k: _Known) -> str:
    """The treaty's name in an article choice: whole when short, else its shortest alias."""
    if len(k.name) <= NAME_IN_CHOICE:
        return k.name
    return k.short() if len(k.short()) <= NAME_IN_CHOICE else k.name


def _article_choice(
    session: Session, *, number: int, having: list[_Known], single: bool, scope: int | None, paragraph: str | None = None
) -> Choice:
    k = having[0]
    label = article_label(k.labels.get(number, str(number)), paragraph)
    value = label  # as shown: "V" means the NPT's, "2(4)" stays a paragraph when picked
    preview = " ".join(_preview(session, treaty=k, number=number, scope=scope).split())
    preview = preview or f"cited in {k.cited.get(number, 0)} post(s)"
    if single:
        return Choice(label=f"Article {label}: {preview}", value=value)
    head = f"Article {label} · {_choice_name(k)}"
    if len(having) > 1:
        others = [o.short() for o in having[1:3]]
        head += f" · also {', '.join(others)}{' and more' if len(having) > 3 else ''}"
    return Choice(label=f"{head} · {preview}", value=value)


def article_choices(db: Database, *, scope: int | None, treaty: str | None = None, current: str = "") -> list[Choice]:
    """Article numbers (of the typed treaty, else of every known treaty) with the treaty and a short preview.

    "5" offers 5, 50-59, ...; "V" or "2(4)" the article meant; other text searches the previews.
    Previews are read only for candidates, until AUTOCOMPLETE_LIMIT choices are found.
    """
    typed = current.strip()
    asked = None if typed.isdigit() or not typed else article_query(typed)
    wanted = asked.numbers if asked else None
    paragraph = asked.paragraph if asked else None
    choices: list[Choice] = []
    if asked is not None and not asked.single:  # a range: the whole of it first
        shown = f"{asked.numbers[0]}-{asked.numbers[-1]}" if list(asked.numbers) == list(range(asked.numbers[0], asked.numbers[-1] + 1)) \
            else ", ".join(map(str, asked.numbers))
        choices.append(Choice(label=f"Articles {shown}, each on its own page", value=shown))
    with db.session() as session:
        known = _known(session, scope)
        single = False
        if treaty and treaty.strip():
            try:
                known, single = [_known_one(session, _named(session, treaty, scope).id, scope)], True
            except UserFacingError:
                pass  # half-typed treaty: offer every treaty's articles
        for number in sorted({n for k in known for n in k.numbers}):
            if (typed.isdigit() and not str(number).startswith(typed)) or (wanted is not None and number not in wanted):
                continue
            roman = asked.roman if asked else False
            having = sorted((k for k in known if number in k.numbers),  # as /article N chooses
                            key=lambda k: (k.cited.get(number, 0), _literal(k.labels.get(number, str(number)), roman), *k.rank()),
                            reverse=True)
            choice = _article_choice(session, number=number, having=having, single=single, scope=scope, paragraph=paragraph)
            if typed and not typed.isdigit() and wanted is None and typed.casefold() not in choice.label.casefold():
                continue
            choices.append(choice)
            if len(choices) == AUTOCOMPLETE_LIMIT:
                break
    return choices
