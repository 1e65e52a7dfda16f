"""Treaties in the store: their names, full texts, and the article quotes found in posts.

Decisions where the issues leave room:
- A treaty's name: the catalog's (bot/treaties.toml) when a name matches it, else as given.
- Loading a text merges with the treaty of the same identity: the given name is matched
  against the known names; a match keeps the existing name and the given one becomes an alias.
  An alias that already names another treaty is an error (it never moves the text elsewhere).
- Quotes are found again in every post after a text loads, so references that named the
  treaty by an alias now given resolve to it.
- Open world: a treaty the finder names that the store does not have is stored under its name
  as written, with the acronym the text defines for it ("(MDT)") as an alias; an acronym a
  later text defines for a stored treaty becomes its alias too (unless another treaty has it).
  Treaties stored while extracting are known to the posts after them in the same run.
- `find_references` is what `postbot references` prints and what the benchmark scores: the
  finder over one text with the catalog's names. Loading does one thing more: a post's bare
  references the text leaves unresolved take the post's main treaty (which, over a lone
  passage, guesses wrong: "Article 4 of the agreement" is not the UN Charter's).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache

from sqlmodel import Session

from bot.errors import UserFacingError
from bot.ingest.names import TreatyName, known_treaties, main_treaty, match_treaty
from bot.ingest.references import ResolvedReference, resolve_references
from bot.ingest.treaties import ParsedTreaty
from bot.services.views import FoundReference, TreatyLoadResult
from bot.store import posts, treaties
from bot.store._sql import chunks
from bot.store.treaties import ArticleRow, QuoteRow

log = logging.getLogger(__name__)


def treaty_names(session: Session, stored: dict[int, treaties.StoredTreaty] | None = None) -> list[TreatyName]:
    """The catalog's treaties plus those in the store (`stored`, when the caller has read them), with every alias either knows."""
    in_store = {t.name: t.aliases for t in (stored if stored is not None else treaties.stored_treaties(session)).values()}
    names = [TreatyName(name=t.name, aliases=tuple(dict.fromkeys([*t.aliases, *in_store.pop(t.name, ())]))) for t in known_treaties()]
    return names + [TreatyName(name=name, aliases=aliases) for name, aliases in in_store.items()]


def find_references(text: str, treaties_known: list[TreatyName] | None = None) -> list[FoundReference]:
    """The article references in a text as the finder sees them, with the catalog's names by default."""
    names = known_treaties() if treaties_known is None else treaties_known
    refs = resolve_references(text, names)
    return [
        FoundReference(number=r.number, paragraph=getattr(r, "paragraph", None), treaty=r.treaty.name if r.treaty else None,
                       quote=r.quote, start=r.start, end=getattr(r, "end", r.start), written=r.treaty_name)
        for r in refs
    ]


class _TreatyIds:
    """Stored treaty ids by name while extracting: new treaties are stored, new acronyms become aliases."""

    def __init__(self, session: Session, names: list[TreatyName], now: dt.datetime) -> None:
        self.session, self.names, self.now = session, names, now
        self.ids: dict[str, int] = {}
        self.seen: set[tuple[str, tuple[str, ...]]] = set()
        self.owners: dict[str, int] | None = None

    def id_of(self, treaty: TreatyName) -> int:
        if treaty.name not in self.ids:
            existed = treaties.treaty_id(self.session, name=treaty.name)
            self.ids[treaty.name] = treaties.add_treaty(self.session, name=treaty.name, aliases=treaty.aliases, now=self.now)
            if existed is None:
                self.owners = None
                if all(t.name != treaty.name for t in self.names):
                    self.names.append(treaty)  # known to the posts after this one
        if treaty.aliases and (treaty.name, treaty.aliases) not in self.seen:
            self.seen.add((treaty.name, treaty.aliases))
            self._add_aliases(self.ids[treaty.name], treaty.aliases)
        return self.ids[treaty.name]

    def _add_aliases(self, treaty_id: int, aliases: tuple[str, ...]) -> None:
        if self.owners is None:
            self.owners = treaties.alias_owners(self.session)
        new = [a for a in dict.fromkeys(aliases) if a not in self.owners]
        if new:
            treaties.add_aliases(self.session, treaty_id=treaty_id, aliases=new)
            self.owners.update((a, treaty_id) for a in new)


def text_references(text: str, names: list[TreatyName], main: Callable[[], TreatyName | None]) -> list[ResolvedReference]:
    """The references of one text of a post; bare ones the text leaves unresolved take the post's
    main treaty, `main()` (only a fallback, and finding it scans the whole body: asked for only then)."""
    refs = resolve_references(text, names)
    if any(ref.treaty is None for ref in refs) and (treaty := main()) is not None:
        refs = resolve_references(text, names, main_treaty=treaty)
    return refs


def _main_treaty_of(body: str, names: list[TreatyName]) -> Callable[[], TreatyName | None]:
    return cache(lambda: main_treaty(body, names))


@dataclass(frozen=True)
class FoundAhead:
    """A post's references found before it is stored (by a parse worker), with the treaty names
    known then: used while the store knows exactly those names, else found again."""

    names: tuple[TreatyName, ...]
    by_text: dict[str, list[ResolvedReference]]


def find_ahead(body: str, comments: Sequence[str], names: tuple[TreatyName, ...]) -> FoundAhead:
    known = list(names)
    main = _main_treaty_of(body, known)
    return FoundAhead(names, {text: text_references(text, known, main) for text in (body, *comments)})


@dataclass(frozen=True)
class InHand:
    """A post just inserted, with its texts in hand (its own comments at positions 0, 1, ... in
    this order): they are not read back, only the ids of the comments that cite an article."""

    scope: int
    date: dt.date
    body: str
    comments: tuple[str, ...]


def extract_quotes(
    session: Session, *, post_ids: list[int], now: dt.datetime, ahead: Mapping[int, FoundAhead] | None = None,
    in_hand: Mapping[int, InHand] | None = None,
) -> int:
    """Find again the article references of these posts (bodies and comments); returns how many were stored.
    `ahead`: references already found, by post id (see FoundAhead). `in_hand`: posts whose texts the
    caller has, by post id (the others are read). A treaty stored for one text is known to the texts after it."""
    names = list(treaty_names(session))
    known = tuple(names)
    current: dict[int, bool] = {}  # id of a FoundAhead's names -> are they the store's? (a worker's chunk shares one tuple)
    ahead, in_hand = ahead or {}, in_hand or {}
    ids = _TreatyIds(session, names, now)
    stored = 0
    for chunk in chunks(dict.fromkeys(post_ids)):
        read = {p.post_id: p for p in treaties.post_texts(session, post_ids=[i for i in chunk if i not in in_hand])}
        rows: list[QuoteRow] = []
        at: list[tuple[int, int, int]] = []  # (row, post id, position) of quotes in comments of posts in hand
        for post_id in chunk:
            post = read.get(post_id) or in_hand.get(post_id)
            if post is None:
                continue
            found = ahead.get(post_id)
            if found is not None and id(found.names) not in current:
                current[id(found.names)] = found.names == known
            fresh = found is not None and current[id(found.names)]
            main = _main_treaty_of(post.body, names)
            positional = post_id not in read  # in hand: its comments by position, the ids of those quoting read below
            comments = enumerate(post.comments) if positional else post.comments  # (position or id, text)
            for where, text in [(None, post.body), *comments]:
                if fresh and len(names) == len(known) and text in found.by_text:
                    refs = found.by_text[text]
                else:
                    refs = text_references(text, names, main)
                for ref in refs:
                    if positional and where is not None:
                        at.append((len(rows), post_id, where))
                    rows.append(
                        QuoteRow(post_id=post_id, post_date=post.date, scope=post.scope, number=ref.number, offset=ref.start,
                                 treaty_id=ids.id_of(ref.treaty) if ref.treaty is not None else None,
                                 comment_id=None if positional else where, text=ref.quote, paragraph=getattr(ref, "paragraph", None))
                    )
        if at:
            comment_ids = treaties.own_comment_ids(session, positions=[(post_id, position) for _, post_id, position in at])
            for row, post_id, position in at:
                rows[row] = replace(rows[row], comment_id=comment_ids[post_id, position])
        treaties.replace_quotes(session, post_ids=chunk, quotes=rows)
        stored += len(rows)
    return stored


def store_treaty(
    session: Session, *, parsed: ParsedTreaty, name: str, aliases: tuple[str, ...] = (), now: dt.datetime
) -> TreatyLoadResult:
    """Store a full treaty text under `name` (merged with a known treaty), then find every post's quotes again.

    Raises UserFacingError for an alias that already names another treaty.
    """
    name = " ".join(name.split())
    if not name:
        raise UserFacingError("the treaty needs a name")
    aliases = tuple(a for a in dict.fromkeys(" ".join(a.split()) for a in aliases) if a)
    names = treaty_names(session)
    identity = match_treaty(name, names) or TreatyName(name=name)
    existed = treaties.treaty_id(session, name=identity.name) is not None
    treaty_id = treaties.add_treaty(session, name=identity.name, aliases=identity.aliases, now=now)
    wanted = [a for a in dict.fromkeys([name, *aliases]) if a != identity.name]
    owners = treaties.alias_owners(session)
    owner_names = {t.id: t.name for t in treaties.stored_treaties(session).values()}
    others = [t for t in names if t.name != identity.name]
    for alias in wanted:
        other = owner_names.get(owners[alias]) if alias in owners and owners[alias] != treaty_id else None
        if other is None and (clash := match_treaty(alias, others, cutoff=100)) is not None:
            other = clash.name
        if other is not None:
            raise UserFacingError(f"the alias {alias!r} already names {other}; choose another")
    treaties.add_aliases(session, treaty_id=treaty_id, aliases=[a for a in wanted if a not in owners])
    replaced = treaties.set_text(
        session,
        treaty_id=treaty_id,
        title=parsed.title,
        preamble=parsed.preamble or None,
        provenance="\n".join(parsed.sources),
        articles=[ArticleRow(number=a.number, label=a.label, text=a.text, chapter=a.chapter) for a in parsed.articles],
    )
    quotes = extract_quotes(session, post_ids=posts.all_post_ids(session), now=now)
    log.info("loaded treaty %r: %d articles (%d replaced), %d quotes found again", identity.name, len(parsed.articles), replaced, quotes)
    return TreatyLoadResult(
        name=identity.name,
        title=parsed.title,
        articles=tuple(a.label for a in parsed.articles),
        aliases=tuple(treaties.aliases_of(session, treaty_id=treaty_id)),
        created=not existed,
        replaced=replaced,
        quotes=quotes,
        requested_name=name if name != identity.name else "",
        cited=_cited(session, treaty_id),
    )


def _cited(session: Session, treaty_id: int) -> tuple[tuple[str, int], ...]:
    """(label, citing posts) of the treaty's articles that posts cite, in number order."""
    known = treaties.citations(session, scope=None).get(treaty_id)
    if known is None:
        return ()
    return tuple((known.labels.get(number, str(number)), posts_citing) for number, posts_citing in sorted(known.cited.items()))
