"""Treaty articles: loading full treaty texts, quoting an article, listing what is known.

Shared by /article, /articles and `postbot treaty ...` / `postbot article`. Every function is
keyword-only, synchronous (cogs call it through `Database.run`) and returns plain dataclasses.

Decisions where the issue leaves room:
- A treaty is *known* (answerable) when its text is loaded or a post cites one of its articles;
  catalog names alone (bot/treaties.toml) only help to recognise treaties in posts.
- Names typed by users go through `match_treaty` (fuzzy, aliases) over the catalog and the
  store, so "NATO" and "north atlantic treaty" both mean the North Atlantic Treaty.
- `load_treaty` merges with the treaty of the same identity: `--name` is matched against the
  known names; a match keeps the existing name and the given name becomes an alias. An alias
  that already names another treaty is an error (it never redirects the text to that treaty).
- An article number that several treaties have, with no treaty named: the answer shows the
  treaty discussed most recently (newest post citing it; then the most recently stored) and
  names the others in `also_in`.
- Without a loaded text, the article's text is the best quote from posts: quotes in post bodies
  before quotes in comments, then the longest, then the newest post.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz
from sqlalchemy import delete, func, insert, select, update
from sqlmodel import Session

from bot.articles import TreatyName, match_treaty
from bot.db import Database
from bot.errors import UserFacingError
from bot.ingest.treaties import TreatyParseError, parse_treaty
from bot.models import Article, Post, Quote, Treaty, TreatyAlias
from bot.render import CHOICE_NAME_LIMIT, shorten
from bot.services.quotes import ensure_treaty, extract_quotes, treaty_names

log = logging.getLogger(__name__)

AUTOCOMPLETE_LIMIT = 25
PREVIEW_CHARS = 200  # of each article, for /articles and autocomplete
_REEXTRACT_BATCH = 500
POSTS_LISTED = 25  # newest citing posts an answer names; the rest are counted
QUOTES_CONSIDERED = 500  # newest quotes of an article among which its best wording is chosen
_TEXT = "text"  # ArticleAnswer.source: the treaty's own text
_QUOTE = "quote"  # the best quote from a post
_NONE = "none"  # cited, but no post quotes its words


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class PostRef:
    id: int
    title: str
    date: dt.date

    def label(self) -> str:
        return f"{self.title} ({self.date.isoformat()})"


@dataclass(frozen=True)
class TreatyLoadResult:
    name: str  # the treaty's name in the store (the catalog's when the given name matched it)
    title: str  # as the text itself gives it
    articles: list[str]  # labels, in text order ("1", "2", ... or "I", "II", ...)
    aliases: list[str]  # every alias the treaty has now
    created: bool  # False: an existing treaty (from the catalog or a post) got its text
    replaced: int  # how many previously loaded articles the new text replaced
    quotes: int  # quotes re-extracted from all posts afterwards
    requested_name: str = ""  # the --name given, when it differs from `name`


@dataclass(frozen=True)
class ArticleAnswer:
    treaty: str
    number: int
    label: str  # as the treaty writes it ("III"), else the number
    text: str | None  # the article's words; None when posts cite it without quoting it
    source: str  # "text" | "quote" | "none"
    quoted_in: PostRef | None  # the post the quote comes from (source == "quote")
    posts: list[PostRef]  # the newest POSTS_LISTED posts citing the article
    post_count: int = 0  # how many posts cite it in all
    chapter: str | None = None
    also_in: list[str] = field(default_factory=list)  # other treaties with this number (none named)

    @property
    def heading(self) -> str:
        return f"Article {self.label} — {self.treaty}"


@dataclass(frozen=True)
class ArticleEntry:
    number: int
    label: str
    has_text: bool
    post_count: int  # distinct posts citing it
    preview: str  # the first PREVIEW_CHARS of its text or best quote ("" when only cited)


@dataclass(frozen=True)
class TreatyArticles:
    name: str
    title: str | None
    has_text: bool
    articles: list[ArticleEntry]

    @property
    def numbers(self) -> list[int]:
        return [a.number for a in self.articles]


@dataclass(frozen=True)
class Choice:
    """An autocomplete choice: `name` shown (<= 100 chars), `value` sent back."""

    name: str
    value: str | int


# --------------------------------------------------------------------------- helpers


def number_ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 4, 7] -> "1–4, 7"; runs of two stay as "3, 4"."""
    out: list[str] = []
    numbers = sorted(set(numbers))
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        if j - i >= 2:
            out.append(f"{numbers[i]}–{numbers[j]}")
        else:
            out.extend(str(n) for n in numbers[i : j + 1])
        i = j + 1
    return ", ".join(out)


@dataclass
class _Known:
    """One answerable treaty: what it has, without the texts (read per article when needed)."""

    id: int
    name: str
    title: str | None
    has_text: bool
    aliases: list[str]
    articles: dict[int, str] = field(default_factory=dict)  # number -> label of the loaded text
    cited: dict[int, int] = field(default_factory=dict)  # number -> distinct posts
    last_discussed: dt.date | None = None

    @property
    def numbers(self) -> list[int]:
        return sorted(set(self.articles) | set(self.cited))

    def rank(self) -> tuple:
        """Most recently discussed first; then the most recently stored."""
        return (self.last_discussed is not None, self.last_discussed or dt.date.min, self.id)


def _treaties(session: Session) -> dict[int, _Known]:
    """Every stored treaty with its aliases; articles and citations not yet read."""
    treaties = {
        t.id: _Known(id=t.id, name=t.name, title=t.title, has_text=t.has_text, aliases=[])
        for t in session.execute(select(Treaty.id, Treaty.name, Treaty.title, Treaty.has_text)).all()
    }
    for treaty_id, alias in session.execute(select(TreatyAlias.treaty_id, TreatyAlias.alias).order_by(TreatyAlias.id)):
        treaties[treaty_id].aliases.append(alias)
    return treaties


def _known(session: Session) -> list[_Known]:
    """Treaties with a loaded text or a cited article, most recently discussed first.

    One pass over the quote index (no join): for lists and error messages. /article itself
    uses the targeted lookups below, which stay fast however many posts cite a treaty.
    """
    treaties = _treaties(session)
    for treaty_id, number, label in session.execute(select(Article.treaty_id, Article.number, Article.label)):
        treaties[treaty_id].articles[number] = label
    rows = session.execute(
        select(Quote.treaty_id, Quote.number, func.count(func.distinct(Quote.post_id)), func.max(Quote.post_date))
        .where(Quote.treaty_id.is_not(None))
        .group_by(Quote.treaty_id, Quote.number)
    ).all()
    for treaty_id, number, posts, last in rows:
        known = treaties[treaty_id]
        known.cited[number] = posts
        if known.last_discussed is None or last > known.last_discussed:
            known.last_discussed = last
    answerable = [k for k in treaties.values() if k.articles or k.cited]
    return sorted(answerable, key=lambda k: k.rank(), reverse=True)


NOTHING_KNOWN = "No treaty articles are known yet: load posts that quote them, or a treaty text with `postbot treaty load`."


def _known_list(known: list[_Known]) -> str:
    if not known:
        return NOTHING_KNOWN
    return "Known treaties: " + "; ".join(f"{k.name} (articles {number_ranges(k.numbers)})" for k in known) + "."


def _known_one(session: Session, treaty_id: int) -> _Known:
    return next(k for k in _known(session) if k.id == treaty_id)


def _has(session: Session, *, treaty_id: int, number: int | None = None) -> bool:
    """Whether the treaty has article `number` (any article when None): loaded or cited."""
    article = select(Article.id).where(Article.treaty_id == treaty_id)
    # Ordered as an index is: PostgreSQL's planner otherwise may pick a table scan for LIMIT 1.
    quote = select(Quote.post_date).where(Quote.treaty_id == treaty_id).order_by(Quote.post_date.desc())
    if number is not None:
        article, quote = article.where(Article.number == number), quote.where(Quote.number == number)
    return any(session.execute(q.limit(1)).first() is not None for q in (article, quote))


def _find(session: Session, name: str) -> _Known:
    """The answerable treaty a user-typed name means, or a UserFacingError naming the known ones."""
    match = match_treaty(name, treaty_names(session))
    found = match and next((k for k in _treaties(session).values() if k.name == match.name), None)
    if found and _has(session, treaty_id=found.id):
        return found
    known = _known(session)
    if match is None:
        raise UserFacingError(f"No treaty called {shorten(name, 100)!r} is known. {_known_list(known)}")
    raise UserFacingError(f"No article of {match.name} is known yet (no text loaded, no post cites it). {_known_list(known)}")


def _most_recently_discussed(session: Session, treaties: list[_Known]) -> list[_Known]:
    for k in treaties:
        k.last_discussed = session.execute(select(func.max(Quote.post_date)).where(Quote.treaty_id == k.id)).scalar()
    return sorted(treaties, key=lambda k: k.rank(), reverse=True)


def _citing_posts(session: Session, *, treaty_id: int, number: int) -> tuple[list[PostRef], int]:
    """The newest POSTS_LISTED posts citing the article, and how many cite it in all."""
    where = (Quote.treaty_id == treaty_id, Quote.number == number)
    newest = session.execute(
        select(Quote.post_date, Quote.post_id).distinct().where(*where)
        .order_by(Quote.post_date.desc(), Quote.post_id.desc()).limit(POSTS_LISTED)
    ).all()
    titles = dict(session.execute(select(Post.id, Post.title).where(Post.id.in_([r.post_id for r in newest]))).all())
    count = session.execute(select(func.count(func.distinct(Quote.post_id))).where(*where)).scalar_one()
    return [PostRef(id=r.post_id, title=titles[r.post_id], date=r.post_date) for r in newest], count


def _best_quote(session: Session, *, treaty_id: int, number: int):
    """The article's best wording among its newest QUOTES_CONSIDERED quotes: quotes in post bodies
    before quotes in comments, then the longest, then the newest. A row (text, comment_id, post_id)."""
    rows = session.execute(
        select(Quote.text, Quote.comment_id, Quote.post_id)
        .where(Quote.treaty_id == treaty_id, Quote.number == number, Quote.text.is_not(None))
        .order_by(Quote.post_date.desc(), Quote.post_id.desc(), Quote.offset)
        .limit(QUOTES_CONSIDERED)
    ).all()
    if not rows:
        return None
    return min(enumerate(rows), key=lambda ir: (ir[1].comment_id is not None, -len(ir[1].text), ir[0]))[1]


def _preview(session: Session, *, treaty: _Known, number: int) -> str:
    """The start of an article: its own text when loaded, else its best quote."""
    if number in treaty.articles:
        return session.execute(
            select(func.substr(Article.text, 1, PREVIEW_CHARS)).where(Article.treaty_id == treaty.id, Article.number == number)
        ).scalar() or ""
    best = _best_quote(session, treaty_id=treaty.id, number=number)
    return best.text[:PREVIEW_CHARS] if best else ""


# --------------------------------------------------------------------------- loading


def _read(path_or_text: str | Path) -> str:
    """A Path is read (UTF-8, BOM tolerated); a str is the text itself (e.g. an upload)."""
    if not isinstance(path_or_text, Path):
        return path_or_text
    try:
        return path_or_text.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserFacingError(f"{path_or_text}: no such file") from None
    except UnicodeDecodeError:
        raise UserFacingError(f"{path_or_text}: not UTF-8 text") from None


def _identity(session: Session, *, name: str) -> TreatyName:
    """The treaty --name means: a known one (catalog or store, fuzzily, via aliases), else a new one."""
    return match_treaty(name, treaty_names(session)) or TreatyName(name=name)


def load_treaty(db: Database, *, path_or_text: str | Path, name: str, aliases: list[str] | tuple[str, ...] = ()) -> TreatyLoadResult:
    """Store a full treaty text under `name`, then re-resolve every post's quotes: one transaction.

    `path_or_text`: a Path is read, a str is the text. Raises UserFacingError for a text that is
    not a full treaty (TreatyParseError chained) or an alias that already names another treaty.
    """
    name = " ".join(name.split())
    aliases = [a for a in dict.fromkeys(" ".join(a.split()) for a in aliases) if a]
    if not name:
        raise UserFacingError("the treaty needs a name (--name)")
    text = _read(path_or_text)
    try:
        parsed = parse_treaty(text)
    except TreatyParseError as exc:
        raise UserFacingError(f"not a treaty text this bot can load: {exc}") from exc

    with db.session() as session:
        identity = _identity(session, name=name)
        existed = session.execute(select(Treaty.id).where(Treaty.name == identity.name)).scalar() is not None
        treaty_id = ensure_treaty(session, treaty=identity)
        wanted = [a for a in dict.fromkeys([name, *aliases]) if a != identity.name]
        owners = dict(session.execute(select(TreatyAlias.alias, TreatyAlias.treaty_id)).all())
        owner_names = dict(session.execute(select(Treaty.id, Treaty.name)).all())
        others = [t for t in treaty_names(session) if t.name != identity.name]
        for alias in wanted:
            other = owner_names.get(owners[alias]) if alias in owners and owners[alias] != treaty_id else None
            if other is None and (clash := match_treaty(alias, others, cutoff=100)) is not None:
                other = clash.name
            if other is not None:
                raise UserFacingError(f"the alias {alias!r} already names {other}; choose another")
        new_aliases = [a for a in wanted if a not in owners]
        if new_aliases:
            session.execute(insert(TreatyAlias), [{"treaty_id": treaty_id, "alias": a} for a in new_aliases])
        session.execute(
            update(Treaty)
            .where(Treaty.id == treaty_id)
            .values(title=parsed.title, preamble=parsed.preamble or None, provenance="\n".join(parsed.sources), has_text=True)
        )
        replaced = session.execute(delete(Article).where(Article.treaty_id == treaty_id)).rowcount or 0
        session.execute(
            insert(Article),
            [
                {"treaty_id": treaty_id, "number": a.number, "label": a.label[:16], "chapter": a.chapter, "text": a.text}
                for a in parsed.articles
            ],
        )
        post_ids = list(session.execute(select(Post.id).order_by(Post.id)).scalars())
        quotes = sum(
            extract_quotes(session, post_ids=post_ids[i : i + _REEXTRACT_BATCH]) for i in range(0, len(post_ids), _REEXTRACT_BATCH)
        )
        all_aliases = list(session.execute(select(TreatyAlias.alias).where(TreatyAlias.treaty_id == treaty_id).order_by(TreatyAlias.id)).scalars())
    log.info("loaded treaty %r: %d articles (%d replaced), %d quotes re-extracted", identity.name, len(parsed.articles), replaced, quotes)
    return TreatyLoadResult(
        name=identity.name,
        title=parsed.title,
        articles=[a.label for a in parsed.articles],
        aliases=all_aliases,
        created=not existed,
        replaced=replaced,
        quotes=quotes,
        requested_name=name if name != identity.name else "",
    )


# --------------------------------------------------------------------------- answering


def quote_article(db: Database, *, number: int, treaty: str | None = None) -> ArticleAnswer:
    """Article `number` of `treaty` (or of the most recently discussed treaty that has it)."""
    with db.session() as session:
        if treaty and treaty.strip():
            chosen = _find(session, treaty)
            if not _has(session, treaty_id=chosen.id, number=number):
                numbers = _known_one(session, chosen.id).numbers
                raise UserFacingError(
                    f"Article {number} of {chosen.name} is not known. "
                    f"Known articles of {chosen.name}: {number_ranges(numbers)}."
                )
            also: list[str] = []
        else:
            having = [k for k in _treaties(session).values() if _has(session, treaty_id=k.id, number=number)]
            if not having:
                known = _known(session)
                if not known:
                    raise UserFacingError(f"Article {number} is not known. {_known_list(known)}")
                raise UserFacingError(f"Article {number} is not known in any treaty. {_known_list(known)}")
            chosen, *others = _most_recently_discussed(session, having)
            also = [k.name for k in others]

        posts, post_count = _citing_posts(session, treaty_id=chosen.id, number=number)
        article = session.execute(select(Article).where(Article.treaty_id == chosen.id, Article.number == number)).scalar()
        if article is not None:
            return ArticleAnswer(
                treaty=chosen.name, number=number, label=article.label, text=article.text, source=_TEXT,
                quoted_in=None, posts=posts, post_count=post_count, chapter=article.chapter, also_in=also,
            )
        best = _best_quote(session, treaty_id=chosen.id, number=number)
        quoted_in = None
        if best is not None:
            post = session.execute(select(Post.id, Post.title, Post.date).where(Post.id == best.post_id)).one()
            quoted_in = PostRef(id=post.id, title=post.title, date=post.date)
        return ArticleAnswer(
            treaty=chosen.name, number=number, label=str(number), text=best.text if best else None,
            source=_QUOTE if best else _NONE, quoted_in=quoted_in, posts=posts, post_count=post_count, also_in=also,
        )


def list_articles(db: Database, *, treaty: str | None = None) -> list[TreatyArticles]:
    """The known treaties (or the one named) and their articles, most recently discussed first.

    Previews (the start of each article) only for one named treaty: the full list names numbers.
    """
    with db.session() as session:
        if treaty and treaty.strip():
            known = [_known_one(session, _find(session, treaty).id)]
        else:
            known = _known(session)
        out = []
        for k in known:
            entries = [
                ArticleEntry(
                    number=n,
                    label=k.articles.get(n, str(n)),
                    has_text=n in k.articles,
                    post_count=k.cited.get(n, 0),
                    preview=_preview(session, treaty=k, number=n) if len(known) == 1 else "",
                )
                for n in k.numbers
            ]
            out.append(TreatyArticles(name=k.name, title=k.title, has_text=k.has_text, articles=entries))
        return out


# --------------------------------------------------------------------------- autocomplete


def _choice_value(k: _Known) -> str:
    """A value that fits Discord's 100 chars and still matches the treaty back."""
    if len(k.name) <= CHOICE_NAME_LIMIT:
        return k.name
    short = [a for a in k.aliases if len(a) <= CHOICE_NAME_LIMIT]
    return min(short, key=len) if short else k.name[:CHOICE_NAME_LIMIT]


def treaty_choices(db: Database, *, current: str = "") -> list[Choice]:
    """Known treaties whose name or an alias resembles what was typed (best first)."""
    with db.session() as session:
        known = _known(session)
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
        choices.append(Choice(name=shorten(shown, CHOICE_NAME_LIMIT - len(count)) + count, value=_choice_value(k)))
    return choices


def _short_name(k: _Known) -> str:
    """The treaty's first alias when shorter ("NATO", "NPT"): previews need the room."""
    return min([k.name, *k.aliases[:1]], key=len)


def article_choices(db: Database, *, treaty: str | None = None, current: str = "") -> list[Choice]:
    """Article numbers (of the typed treaty, else of every known treaty) with a short preview.

    Previews are read only for candidates, until AUTOCOMPLETE_LIMIT choices are found.
    """
    typed = current.strip().casefold()
    choices: list[Choice] = []
    with db.session() as session:
        known = _known(session)
        if treaty and treaty.strip():
            try:
                known = [_known_one(session, _find(session, treaty).id)]
            except UserFacingError:
                pass  # half-typed treaty: offer every treaty's articles
        for number in sorted({n for k in known for n in k.numbers}):
            if typed.isdigit() and not str(number).startswith(typed):
                continue
            having = [k for k in known if number in k.numbers]  # most recently discussed first
            k = having[0]
            label = k.articles.get(number, str(number))
            preview = " ".join(_preview(session, treaty=k, number=number).split())
            if typed and not typed.isdigit() and not (label.casefold() == typed or typed in preview.casefold()):
                continue
            where = "" if len(known) == 1 else f" ({_short_name(k)}{f' +{len(having) - 1}' if len(having) > 1 else ''})"
            head = f"Article {label}{where}"
            name = f"{head}: {preview}" if preview else f"{head}: cited in {k.cited.get(number, 0)} post(s)"
            choices.append(Choice(name=shorten(name, CHOICE_NAME_LIMIT), value=number))
            if len(choices) == AUTOCOMPLETE_LIMIT:
                break
    return choices
