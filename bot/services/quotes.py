"""Article quotes: extracted from posts and comments at load, stored as `Quote` rows."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, insert, select
from sqlmodel import Session

import discord.utils

from bot.articles import TreatyName, find_treaty_mentions, known_treaties, resolve_references
from bot.models import Comment, Post, Quote, Treaty, TreatyAlias


def treaty_names(session: Session) -> list[TreatyName]:
    """The catalog's treaties plus those loaded into the store, with their aliases."""
    stored: dict[str, list[str]] = {}
    for name, alias in session.execute(
        select(Treaty.name, TreatyAlias.alias).outerjoin(TreatyAlias, TreatyAlias.treaty_id == Treaty.id)
    ):
        stored.setdefault(name, [])
        if alias:
            stored[name].append(alias)
    names = [TreatyName(name=t.name, aliases=tuple(dict.fromkeys([*t.aliases, *stored.pop(t.name, [])]))) for t in known_treaties()]
    names += [TreatyName(name=name, aliases=tuple(aliases)) for name, aliases in stored.items()]
    return names


def ensure_treaty(session: Session, *, treaty: TreatyName) -> int:
    """The id of the treaty's row, creating it (with its catalog aliases) on first mention."""
    treaty_id = session.execute(select(Treaty.id).where(Treaty.name == treaty.name)).scalar()
    if treaty_id is None:
        treaty_id = session.execute(
            insert(Treaty).values(name=treaty.name, created_at=discord.utils.utcnow(), provenance="", has_text=False).returning(Treaty.id)
        ).scalar_one()
        taken = set(session.execute(select(TreatyAlias.alias)).scalars())
        aliases = [a for a in dict.fromkeys(treaty.aliases) if a not in taken]
        if aliases:
            session.execute(insert(TreatyAlias), [{"treaty_id": treaty_id, "alias": a} for a in aliases])
    return treaty_id


def main_treaty(text: str, treaties: list[TreatyName]) -> TreatyName | None:
    """The treaty a post mentions most: the fallback for references that name none."""
    mentions = Counter(t.name for _, t in find_treaty_mentions(text, treaties))
    if not mentions:
        return None
    name = mentions.most_common(1)[0][0]
    return next(t for t in treaties if t.name == name)


def extract_quotes(session: Session, *, post_ids: list[int]) -> int:
    """Re-extract the quotes of these posts (body and comments); returns how many were stored."""
    if not post_ids:
        return 0
    treaties = treaty_names(session)
    treaty_ids: dict[str, int] = {}
    rows: list[dict] = []
    connection = session.connection()  # core statements: the ORM layer cost more than the work
    connection.execute(delete(Quote).where(Quote.post_id.in_(post_ids)))
    posts = connection.execute(select(Post.id, Post.body, Post.date).where(Post.id.in_(post_ids))).all()
    bodies = {p.id: p.body for p in posts}
    dates = {p.id: p.date for p in posts}
    comments = connection.execute(
        select(Comment.id, Comment.post_id, Comment.text).where(Comment.post_id.in_(post_ids))
    ).all()
    texts: list[tuple[int, int | None, str]] = [(pid, None, body) for pid, body in bodies.items()]
    texts += [(c.post_id, c.id, c.text) for c in comments]
    mains: dict[int, TreatyName | None] = {}
    for post_id, comment_id, text in texts:
        refs = resolve_references(text, treaties)
        if any(ref.treaty is None for ref in refs):
            # The post's main treaty is only a fallback, and finding it scans the whole body:
            # work it out for the few texts whose references need it.
            if post_id not in mains:
                mains[post_id] = main_treaty(bodies[post_id], treaties)
            if mains[post_id] is not None:
                refs = resolve_references(text, treaties, main_treaty=mains[post_id])
        for ref in refs:
            treaty_id = None
            if ref.treaty is not None:
                if ref.treaty.name not in treaty_ids:
                    treaty_ids[ref.treaty.name] = ensure_treaty(session, treaty=ref.treaty)
                treaty_id = treaty_ids[ref.treaty.name]
            rows.append(
                {"post_id": post_id, "comment_id": comment_id, "treaty_id": treaty_id, "number": ref.number, "text": ref.quote, "offset": ref.start,
                 "post_date": dates[post_id]}
            )
    if rows:
        connection.execute(insert(Quote), rows)
    return len(rows)
