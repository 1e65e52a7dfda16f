"""Treaties, their aliases and loaded articles, the quotes that cite them (and the texts they are
found in), and chat answers.

Quotes carry their post's date (migration 0003), so "the newest posts citing Article N" and
"the most recently discussed treaty" are index range reads however many posts cite a treaty.
A loaded article carries its heading ("Article 5 — North Atlantic Treaty (NATO)", migration
0007), which search indexes beside its text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, select, update
from sqlmodel import Session

from bot.models import Article, ChatAnswer, Comment, CommentOrigin, GuildConfig, Post, Quote, Treaty, TreatyAlias
from bot.store._sql import chunks, insert_or_ignore, insert_rows, visible
from bot.store.posts import PostRef


@dataclass(frozen=True)
class StoredTreaty:
    id: int
    name: str
    title: str | None
    has_text: bool
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArticleRow:
    """An article of a treaty text, to store."""

    number: int
    label: str
    text: str
    chapter: str | None = None


@dataclass(frozen=True)
class StoredArticle:
    number: int
    label: str
    text: str
    chapter: str | None


@dataclass(frozen=True)
class QuoteRow:
    """A post (or one of its comments) citing an article, with the words it quotes if any."""

    post_id: int
    post_date: dt.date
    scope: int  # the post's
    number: int
    offset: int
    treaty_id: int | None = None
    comment_id: int | None = None
    text: str | None = None
    paragraph: str | None = None  # "4" for Article 2(4), "bis" for 8 bis


@dataclass(frozen=True)
class BestQuote:
    text: str
    post: PostRef
    in_comment: bool
    paragraph: str | None = None  # the paragraph the quoting text named


@dataclass(frozen=True)
class NumberCitations:
    """How the viewer's posts cite one article of one treaty."""

    posts: int  # distinct citing posts
    last_cited: dt.date


@dataclass
class Citations:
    """What is known of a treaty's articles without reading any text."""

    labels: dict[int, str] = field(default_factory=dict)  # number -> label of the loaded text
    cited: dict[int, int] = field(default_factory=dict)  # number -> distinct citing posts
    last_cited: dt.date | None = None


# --------------------------------------------------------------------------- treaties and names


def stored_treaties(session: Session) -> dict[int, StoredTreaty]:
    """Every stored treaty with its aliases (in the order they were added)."""
    aliases: dict[int, list[str]] = {}
    for treaty_id, alias in session.execute(select(TreatyAlias.treaty_id, TreatyAlias.alias).order_by(TreatyAlias.id)):
        aliases.setdefault(treaty_id, []).append(alias)
    return {
        t.id: StoredTreaty(id=t.id, name=t.name, title=t.title, has_text=t.has_text, aliases=tuple(aliases.get(t.id, ())))
        for t in session.execute(select(Treaty.id, Treaty.name, Treaty.title, Treaty.has_text)).all()
    }


def treaty_id(session: Session, *, name: str) -> int | None:
    return session.execute(select(Treaty.id).where(Treaty.name == name)).scalar()


def add_treaty(session: Session, *, name: str, aliases: tuple[str, ...], now: dt.datetime) -> int:
    """The id of the treaty called `name`, created (with those of its aliases no other treaty has) if new."""
    existing = treaty_id(session, name=name)
    if existing is not None:
        return existing
    new_id = session.execute(
        insert(Treaty).values(name=name, created_at=now, provenance="", has_text=False).returning(Treaty.id)
    ).scalar_one()
    taken = set(alias_owners(session))
    add_aliases(session, treaty_id=new_id, aliases=[a for a in dict.fromkeys(aliases) if a not in taken])
    return new_id


def alias_owners(session: Session) -> dict[str, int]:
    """alias -> the treaty it names."""
    return dict(session.execute(select(TreatyAlias.alias, TreatyAlias.treaty_id)).all())


def add_aliases(session: Session, *, treaty_id: int, aliases: list[str]) -> None:
    if aliases:
        session.execute(insert(TreatyAlias), [{"treaty_id": treaty_id, "alias": a} for a in aliases])
        _refresh_headings(session, treaty_id=treaty_id)


def article_heading(*, label: str, number: int, name: str, aliases: list[str] | tuple[str, ...]) -> str:
    """"Article 5 — North Atlantic Treaty (NATO)", "Article V (5) — Treaty on the Non-Proliferation of
    Nuclear Weapons (NPT)": what search finds an article by (its shortest alias in brackets)."""
    shown = label if label == str(number) else f"{label} ({number})"
    short = min((a for a in aliases if a and a != name), key=len, default=None)
    return f"Article {shown} — {name}" + (f" ({short})" if short else "")


def _headings(session: Session, treaty_id: int) -> tuple[str, list[str]]:
    name = session.execute(select(Treaty.name).where(Treaty.id == treaty_id)).scalar_one()
    return name, aliases_of(session, treaty_id=treaty_id)


def _refresh_headings(session: Session, *, treaty_id: int) -> None:
    """After the treaty's aliases changed: its loaded articles' headings name the shortest one."""
    rows = session.execute(select(Article.id, Article.label, Article.number).where(Article.treaty_id == treaty_id)).all()
    if rows:
        name, aliases = _headings(session, treaty_id)
        for row in rows:
            heading = article_heading(label=row.label, number=row.number, name=name, aliases=aliases)
            session.execute(update(Article).where(Article.id == row.id, Article.heading != heading).values(heading=heading))


def set_text(
    session: Session, *, treaty_id: int, title: str, preamble: str | None, provenance: str, articles: list[ArticleRow]
) -> int:
    """Give the treaty its full text, replacing any earlier one; returns how many articles were replaced."""
    session.execute(
        update(Treaty).where(Treaty.id == treaty_id).values(title=title, preamble=preamble, provenance=provenance, has_text=True)
    )
    replaced = session.execute(delete(Article).where(Article.treaty_id == treaty_id)).rowcount or 0
    if articles:
        name, aliases = _headings(session, treaty_id)
        session.execute(
            insert(Article),
            [
                {"treaty_id": treaty_id, "number": a.number, "label": a.label[:16], "chapter": a.chapter, "text": a.text,
                 "heading": article_heading(label=a.label[:16], number=a.number, name=name, aliases=aliases)}
                for a in articles
            ],
        )
    return replaced


# --------------------------------------------------------------------------- quotes


@dataclass(frozen=True)
class PostTexts:
    """What article references are found in: a post's body and its comments' texts."""

    post_id: int
    scope: int
    date: dt.date
    body: str
    comments: tuple[tuple[int, str], ...]  # (comment id, text) of its own comments


def post_texts(session: Session, *, post_ids: list[int]) -> list[PostTexts]:
    """Bodies and own comments' texts of these posts (for finding the articles they cite: a quote
    belongs to its post's scope, so comments from Discord, which belong to a server, are left out)."""
    if not post_ids:
        return []
    connection = session.connection()  # core statements: the ORM layer cost more than the work
    posts = connection.execute(select(Post.id, Post.scope, Post.body, Post.date).where(Post.id.in_(post_ids))).all()
    comments: dict[int, list[tuple[int, str]]] = {p.id: [] for p in posts}
    own = select(Comment.id, Comment.post_id, Comment.text).where(Comment.post_id.in_(post_ids), Comment.origin == CommentOrigin.POST)
    for c in connection.execute(own):
        comments[c.post_id].append((c.id, c.text))
    return [PostTexts(post_id=p.id, scope=p.scope, date=p.date, body=p.body, comments=tuple(comments[p.id])) for p in posts]


def own_comment_ids(session: Session, *, positions: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """(post id, position) -> id of those own comments: a loader that just inserted them knows
    their texts, and reads back only the ids it needs (by the index on post, origin, position)."""
    connection = session.connection()
    wanted = set(positions)
    found: dict[tuple[int, int], int] = {}
    for chunk in chunks(sorted({post_id for post_id, _ in wanted})):
        members = set(chunk)
        at = sorted({position for post_id, position in wanted if post_id in members})
        rows = connection.execute(
            select(Comment.post_id, Comment.position, Comment.id)
            .where(Comment.post_id.in_(chunk), Comment.origin == CommentOrigin.POST, Comment.position.in_(at))
        )
        found.update(((post_id, position), comment_id) for post_id, position, comment_id in rows if (post_id, position) in wanted)
    return found


def replace_quotes(session: Session, *, post_ids: list[int], quotes: list[QuoteRow]) -> None:
    """The quotes of these posts are now exactly `quotes`."""
    connection = session.connection()  # core statements: the ORM layer cost more than the work
    connection.execute(delete(Quote).where(Quote.post_id.in_(post_ids)))
    insert_rows(
        connection,
        Quote.__table__,
        [
            {"post_id": q.post_id, "comment_id": q.comment_id, "treaty_id": q.treaty_id, "number": q.number,
             "text": q.text, "offset": q.offset, "post_date": q.post_date, "scope": q.scope, "paragraph": q.paragraph}
            for q in quotes
        ],
    )


def quoted_articles(session: Session, *, post_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """post id -> (treaty name, article number) of each resolved article it or its comments cite, in text order."""
    found: dict[int, list[tuple[str, int]]] = {}
    for chunk in chunks(post_ids):
        rows = session.execute(
            select(Quote.post_id, Treaty.name, Quote.number)
            .join(Treaty, Treaty.id == Quote.treaty_id)
            .where(Quote.post_id.in_(chunk))
            .order_by(Quote.post_id, Quote.comment_id.is_not(None), Quote.offset)
        )
        for post_id, name, number in rows:
            pairs = found.setdefault(post_id, [])
            if (name, number) not in pairs:
                pairs.append((name, number))
    return found


def citations(session: Session, *, scope: int | None) -> dict[int, Citations]:
    """treaty id -> loaded article labels and the viewer's citation counts, in two index passes (no join)."""
    known: dict[int, Citations] = {}
    for treaty_id, number, label in session.execute(select(Article.treaty_id, Article.number, Article.label)):
        known.setdefault(treaty_id, Citations()).labels[number] = label
    rows = session.execute(
        select(Quote.treaty_id, Quote.number, func.count(func.distinct(Quote.post_id)), func.max(Quote.post_date))
        .where(Quote.treaty_id.is_not(None), visible(Quote.scope, scope))
        .group_by(Quote.treaty_id, Quote.number)
    ).all()
    for treaty_id, number, posts, last in rows:
        entry = known.setdefault(treaty_id, Citations())
        entry.cited[number] = posts
        if entry.last_cited is None or last > entry.last_cited:
            entry.last_cited = last
    return known


def has_article(session: Session, *, treaty_id: int, scope: int | None, number: int | None = None) -> bool:
    """Whether the treaty has article `number` (any article when None): loaded, or cited where the viewer sees."""
    article = select(Article.id).where(Article.treaty_id == treaty_id)
    # Ordered as an index is: PostgreSQL's planner otherwise may pick a table scan for LIMIT 1.
    quote = select(Quote.post_date).where(Quote.treaty_id == treaty_id, visible(Quote.scope, scope)).order_by(Quote.post_date.desc())
    if number is not None:
        article, quote = article.where(Article.number == number), quote.where(Quote.number == number)
    return any(session.execute(q.limit(1)).first() is not None for q in (article, quote))


def last_cited(session: Session, *, treaty_id: int, scope: int | None) -> dt.date | None:
    return session.execute(select(func.max(Quote.post_date)).where(Quote.treaty_id == treaty_id, visible(Quote.scope, scope))).scalar()


def number_citations(
    session: Session, *, treaty_ids: list[int], numbers: list[int], scope: int | None
) -> dict[int, dict[int, NumberCitations]]:
    """treaty id -> number -> how the viewer's posts cite it, for these treaties' articles `numbers`.

    Index reads: each (treaty, number) pair is one range of ix_quote_article.
    """
    found: dict[int, dict[int, NumberCitations]] = {}
    for chunk in chunks(treaty_ids):
        rows = session.execute(
            select(Quote.treaty_id, Quote.number, func.count(func.distinct(Quote.post_id)), func.max(Quote.post_date))
            .where(Quote.treaty_id.in_(chunk), Quote.number.in_(numbers), visible(Quote.scope, scope))
            .group_by(Quote.treaty_id, Quote.number)
        ).all()
        for treaty_id, number, posts, last in rows:
            found.setdefault(treaty_id, {})[number] = NumberCitations(posts=posts, last_cited=last)
    return found


def loaded_numbers(session: Session, *, numbers: list[int]) -> dict[int, dict[int, str]]:
    """treaty id -> number -> label, for the loaded articles among `numbers`."""
    found: dict[int, dict[int, str]] = {}
    for treaty_id, number, label in session.execute(
        select(Article.treaty_id, Article.number, Article.label).where(Article.number.in_(numbers))
    ):
        found.setdefault(treaty_id, {})[number] = label
    return found


def citing_posts(
    session: Session, *, treaty_id: int, number: int, scope: int | None, limit: int, counted: int | None = None
) -> tuple[list[PostRef], int]:
    """The newest `limit` posts the viewer sees citing the article, and how many cite it in all
    (`counted`: that number, when the caller has it from `number_citations`; counting a much-cited
    article's quotes is the costliest read of an /article answer)."""
    where = (Quote.treaty_id == treaty_id, Quote.number == number, visible(Quote.scope, scope))
    if counted is None:
        counted = session.execute(select(func.count(func.distinct(Quote.post_id))).where(*where)).scalar_one()
    if not counted:
        return [], 0
    newest = session.execute(
        select(Quote.post_date, Quote.post_id).distinct().where(*where)
        .order_by(Quote.post_date.desc(), Quote.post_id.desc()).limit(limit)
    ).all()
    titles = dict(session.execute(select(Post.id, Post.title).where(Post.id.in_([r.post_id for r in newest]))).all())
    return [PostRef(id=r.post_id, title=titles[r.post_id], date=r.post_date) for r in newest], counted


def best_quote(
    session: Session, *, treaty_id: int, number: int, scope: int | None, considered: int, paragraph: str | None = None
) -> BestQuote | None:
    """The article's best wording among the newest `considered` quotes the viewer sees: quotes of
    `paragraph` (None: of the whole article) first, then quotes in post bodies before quotes in
    comments, then the longest, then the newest."""
    newest = (
        select(Quote.text, Quote.comment_id, Quote.post_id, Quote.paragraph, Quote.post_date, Quote.offset)
        .where(Quote.treaty_id == treaty_id, Quote.number == number, Quote.text.is_not(None), visible(Quote.scope, scope))
        .order_by(Quote.post_date.desc(), Quote.post_id.desc())  # as ix_quote_article walks (by offset too would sort)
        .limit(considered)
        .subquery()
    )
    # chosen in SQL: the considered quotes' texts never leave the database, only the best one
    best = session.execute(
        select(newest.c.text, newest.c.comment_id, newest.c.paragraph, Post.id, Post.date, Post.title)
        .join(Post, Post.id == newest.c.post_id)
        .order_by(
            newest.c.paragraph.is_distinct_from(paragraph), newest.c.comment_id.is_not(None), func.length(newest.c.text).desc(),
            newest.c.post_date.desc(), newest.c.post_id.desc(), newest.c.offset,
        )
        .limit(1)
    ).first()
    if best is None:
        return None
    return BestQuote(
        text=best.text, post=PostRef(id=best.id, date=best.date, title=best.title), in_comment=best.comment_id is not None,
        paragraph=best.paragraph,
    )


def get_article(session: Session, *, treaty_id: int, number: int) -> StoredArticle | None:
    row = session.execute(
        select(Article.number, Article.label, Article.text, Article.chapter).where(Article.treaty_id == treaty_id, Article.number == number)
    ).first()
    return StoredArticle(number=row.number, label=row.label, text=row.text, chapter=row.chapter) if row else None


def article_opening(session: Session, *, treaty_id: int, number: int, chars: int) -> str | None:
    """The first `chars` characters of a loaded article's text (None when not loaded)."""
    return session.execute(
        select(func.substr(Article.text, 1, chars)).where(Article.treaty_id == treaty_id, Article.number == number)
    ).scalar()


def aliases_of(session: Session, *, treaty_id: int) -> list[str]:
    return list(session.execute(select(TreatyAlias.alias).where(TreatyAlias.treaty_id == treaty_id).order_by(TreatyAlias.id)).scalars())


# --------------------------------------------------------------------------- chat references


def chat_quotes(session: Session, *, guild_id: int) -> bool:
    """Whether the server wants article references in its post threads answered (default yes)."""
    enabled = session.execute(select(GuildConfig.chat_quotes).where(GuildConfig.guild_id == guild_id)).scalar()
    return True if enabled is None else bool(enabled)


def set_chat_quotes(session: Session, *, guild_id: int, enabled: bool) -> None:
    config = session.get(GuildConfig, guild_id)
    if config is None:
        session.add(GuildConfig(guild_id=guild_id, chat_quotes=enabled))
    else:
        config.chat_quotes = enabled


def claim_chat_answer(session: Session, *, message_id: int, guild_id: int, now: dt.datetime, keep: dt.timedelta) -> bool:
    """True for the first caller about this message (it answers), False when it was answered already.

    Claims older than `keep` are forgotten: a message is answered when it arrives, never again later.
    """
    session.execute(delete(ChatAnswer).where(ChatAnswer.answered_at < now - keep))
    claimed = session.execute(
        insert_or_ignore(session, ChatAnswer)
        .values(message_id=message_id, guild_id=guild_id, answered_at=now)
        .on_conflict_do_nothing(index_elements=["message_id"])
        .returning(ChatAnswer.message_id)
    ).first()
    return claimed is not None
