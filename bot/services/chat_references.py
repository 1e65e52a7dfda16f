"""Article references in chat: a message in a post's discussion thread that cites an article gets
the article's card; the "Quote articles" menu does the same for any message; /discussion quotes.

Decisions where the issue leaves room:
- A reference counts when the finder resolves it to a treaty the viewer knows that article of:
  by its own name ("Article 5 of NATO", "Art. 51 UN Charter"), a treaty named earlier in the
  message, or else the thread's post's main treaty (the treaty the post cites most; "what
  about article 4?"). Unresolved references and unknown articles are left alone, so a message
  about nothing known gets no answer.
- At most MAX_ARTICLES distinct articles a message, in the order written.
- Once per message: the answer is claimed in the database (chatanswer) before it is sent, so a
  duplicate event or a restart never answers twice; a claim is kept for CLAIM_KEPT (a message
  is answered when it arrives, never later). An edit is not answered again.
- The menu answers whoever used it (ephemerally), anywhere, whatever /discussion quotes says,
  and claims nothing: it is a request, not chat.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlmodel import Session

from bot.db import Database
from bot.ingest.article_forms import KEYWORD
from bot.ingest.names import TreatyName
from bot.ingest.references import resolve_references
from bot.services.articles import answer_article
from bot.services.treaties import treaty_names
from bot.services.views import ArticleAnswer
from bot.store import discussion, treaties

MAX_ARTICLES = 3
CLAIM_KEPT = dt.timedelta(days=7)


@dataclass(frozen=True)
class ChatMessage:
    """A message that may cite articles, and where it was written."""

    text: str
    message_id: int
    guild_id: int | None
    thread_id: int | None = None  # the channel, when it is a thread


def might_cite(text: str) -> bool:
    """Cheap first check before any lookup: the finder's own "Article"/"Art." keyword
    (a plain "art" would send every "start" and "party" to the database)."""
    return KEYWORD.search(text) is not None


def _main_treaty(session: Session, post_id: int, names: list[TreatyName]) -> TreatyName | None:
    """The treaty the post (and its comments) cite most, first cited first among equals."""
    cited = [name for name, _ in treaties.quoted_articles(session, post_ids=[post_id]).get(post_id, [])]
    if not cited:
        return None
    top = Counter(cited).most_common(1)[0][0]
    return next((t for t in names if t.name == top), TreatyName(name=top))


def _answers(session: Session, message: ChatMessage, *, post_id: int | None) -> list[ArticleAnswer]:
    names = treaty_names(session)
    main = _main_treaty(session, post_id, names) if post_id is not None else None
    scope = message.guild_id or 0
    answers: list[ArticleAnswer] = []
    seen: set[tuple[str, int, str | None]] = set()
    for ref in resolve_references(message.text, names, main_treaty=main):
        paragraph = getattr(ref, "paragraph", None)
        key = (ref.treaty.name, ref.number, paragraph) if ref.treaty is not None else None
        if key is None or key in seen:
            continue
        seen.add(key)
        treaty_id = treaties.treaty_id(session, name=ref.treaty.name)
        if treaty_id is None or not treaties.has_article(session, treaty_id=treaty_id, scope=scope, number=ref.number):
            continue
        answers.append(answer_article(session, treaty_id=treaty_id, name=ref.treaty.name, number=ref.number, scope=scope, paragraph=paragraph))
        if len(answers) == MAX_ARTICLES:
            break
    return answers


def thread_answers(db: Database, *, message: ChatMessage, now: dt.datetime) -> list[ArticleAnswer]:
    """The cards to reply with to a message in a post's thread: [] when the thread is no post's, the
    server turned this off, nothing known is cited, or the message was answered already."""
    if message.guild_id is None or message.thread_id is None or not might_cite(message.text):
        return []
    with db.session() as session:
        post = discussion.thread_post(session, thread_id=message.thread_id)
        if post is None or not treaties.chat_quotes(session, guild_id=message.guild_id):
            return []
        answers = _answers(session, message, post_id=post.id)
        if not answers:
            return []
        claimed = treaties.claim_chat_answer(session, message_id=message.message_id, guild_id=message.guild_id, now=now, keep=CLAIM_KEPT)
        return answers if claimed else []


def menu_answers(db: Database, *, message: ChatMessage) -> list[ArticleAnswer]:
    """The cards for the "Quote articles" menu: any message; in a post's thread, bare references
    mean the post's treaty."""
    if not might_cite(message.text):
        return []
    with db.session() as session:
        post = discussion.thread_post(session, thread_id=message.thread_id) if message.thread_id is not None else None
        return _answers(session, message, post_id=post.id if post else None)


def chat_quotes(db: Database, *, guild_id: int) -> bool:
    with db.session() as session:
        return treaties.chat_quotes(session, guild_id=guild_id)


def set_chat_quotes(db: Database, *, guild_id: int, enabled: bool) -> bool:
    """/discussion quotes on|off: returns the setting now in force."""
    with db.session() as session:
        treaties.set_chat_quotes(session, guild_id=guild_id, enabled=enabled)
    return enabled
