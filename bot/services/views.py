"""One shape per concept, as the cogs, the CLI and `bot.render` see what the services answer.

The store's own records that need nothing added (a post reference, a comment, a thread, a
feed, a digest run) are shown as they are and re-exported here, so callers import every shape
from one place.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from enum import StrEnum

from bot.errors import ParseError
from bot.models import CollectMode, CommentOrigin, DigestStatus, DigestStyle
from bot.store.digests import Run, Subscription
from bot.store.discussion import CommentRef, ThreadRef
from bot.store.feeds import FeedRecord, SourceRecord
from bot.store.posts import LoadStatus, PostRef, StoredComment, StoredPost
from bot.store.search import HitKind

__all__ = [
    "Announcements", "ArticleAnswer", "ArticleAnswers", "ArticleEntry", "FoundReference", "article_label", "LoadReport", "SourceKind", "SourceResult", "ArticleSource", "Choice", "CollectMode", "CommentOrigin", "CommentRef",
    "DigestJob", "DigestStatus", "DigestStyle", "DigestView", "Discovered", "FeedRecord", "HitKind", "LoadStatus", "PollResult", "PostCard",
    "PostPage", "PostRef", "Run", "SavedComment", "SearchHit", "Snippet", "SourceRecord", "StatusInfo", "StoredComment",
    "StoredPost", "Subscription", "ThreadRef", "TreatyArticles", "TreatyLoadResult", "number_ranges",
]


@dataclass(frozen=True)
class PostCard:
    """A post at a glance: /post show, the first message of its /discuss thread, feed announcements, digests."""

    id: int
    title: str
    date: dt.date
    source: str | None
    headline: str | None
    link: str | None
    summary: str  # a few sentences of the body (LexRank); render cuts it to the card's length
    articles: tuple[tuple[str, tuple[int, ...]], ...]  # (treaty, article numbers) it or its comments cite
    comment_count: int
    newest_commenter: str | None = None
    thread: ThreadRef | None = None  # its discussion thread in the server asking


@dataclass(frozen=True)
class PostPage:
    """One page of /post list (`page` counts from 0)."""

    posts: tuple[PostRef, ...]
    page: int
    pages: int


@dataclass(frozen=True)
class SavedComment:
    comment: CommentRef
    created: bool  # False: that message was a comment already


# --------------------------------------------------------------------------- treaty articles


class ArticleSource(StrEnum):
    """Where an answer's wording comes from."""

    TEXT = "text"  # the treaty's own loaded text
    QUOTE = "quote"  # the best quote from a post
    NONE = "none"  # cited, but no post quotes its words


@dataclass(frozen=True)
class ArticleAnswer:
    treaty: str
    number: int
    label: str  # as the treaty writes it ("III"), else the number
    text: str | None  # the article's words; None when posts cite it without quoting it
    source: ArticleSource
    quoted_in: PostRef | None  # the post the quote comes from (source QUOTE)
    posts: tuple[PostRef, ...]  # the newest posts citing the article
    post_count: int = 0  # how many posts cite it in all
    chapter: str | None = None
    also: tuple[str, ...] = ()  # the other articles it may have meant: "Article V of the NPT"
    paragraph: str | None = None  # the paragraph `text` is ("4" of Article 2(4)); None: the whole article
    note: str | None = None  # "No paragraph 9 in the text: the whole article is shown."

    @property
    def heading(self) -> str:
        return f"Article {article_label(self.label, self.paragraph)} — {self.treaty}"


def article_label(label: str, paragraph: str | None) -> str:
    """"2(4)" for paragraph 4 of Article 2, "8 bis", else the label."""
    if not paragraph:
        return label
    return f"{label}({paragraph})" if paragraph.isdigit() or len(paragraph) == 1 else f"{label} {paragraph}"


@dataclass(frozen=True)
class ArticleAnswers:
    """What /article answers: one article, or each article of a range ("3-5") in order."""

    answers: tuple[ArticleAnswer, ...]
    missing: tuple[int, ...] = ()  # numbers of the range the treaty has no known article for


@dataclass(frozen=True)
class FoundReference:
    """A reference as the finder sees it (`postbot references`, the benchmark)."""

    number: int
    paragraph: str | None
    treaty: str | None  # the treaty's name, None when unresolved
    quote: str | None
    start: int
    end: int
    written: str | None = None  # the treaty's name as the text writes it


@dataclass(frozen=True)
class ArticleEntry:
    number: int
    label: str
    has_text: bool
    post_count: int  # distinct posts citing it
    preview: str  # the opening of its text or best quote ("" when only cited, or not asked for)


@dataclass(frozen=True)
class TreatyArticles:
    name: str
    title: str | None
    has_text: bool
    articles: tuple[ArticleEntry, ...]

    @property
    def numbers(self) -> list[int]:
        return [a.number for a in self.articles]


@dataclass(frozen=True)
class TreatyLoadResult:
    name: str  # the treaty's name in the store (the catalog's when the given name matched it)
    title: str  # as the text itself gives it
    articles: tuple[str, ...]  # labels, in text order ("1", "2", ... or "I", "II", ...)
    aliases: tuple[str, ...]  # every alias the treaty has now
    created: bool  # False: an existing treaty (from the catalog or a post) got its text
    replaced: int  # how many previously loaded articles the new text replaced
    quotes: int  # article references (of every treaty) found again in all posts afterwards
    requested_name: str = ""  # the name given, when it differs from `name`
    cited: tuple[tuple[str, int], ...] = ()  # this treaty's articles posts cite: (label, citing posts), in number order


@dataclass(frozen=True)
class Choice:
    """An autocomplete choice: `label` then `suffix` shown (render fits them in 100 chars), `value` sent back."""

    label: str
    value: str | int
    suffix: str = ""  # kept whole when the label is cut (" · 3 articles")


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


# --------------------------------------------------------------------------- loading


class SourceKind(StrEnum):
    POST = "post"
    FEED = "feed"
    TREATY = "treaty"


@dataclass
class SourceResult:
    source: str
    kind: SourceKind | None = None
    posts: list[tuple[LoadStatus, int]] = field(default_factory=list)  # (status, post id), in source order
    treaty: TreatyLoadResult | None = None
    error: str | None = None  # why it failed: "impossible date 'February 30, 2024' ..."
    line: int | None = None  # where in the source, when known
    warnings: list[str] = field(default_factory=list)
    skipped: str | None = None  # a file found in a folder that is no post file, feed or treaty text: why it was left alone

    @property
    def failed(self) -> bool:
        return self.error is not None

    def located(self, where: str | None = None) -> str:
        """The failure with its place: "file.txt:3: impossible date ..." (`where` defaults to the source)."""
        return ParseError(self.error or "", self.line).located(self.source if where is None else where)

    def count(self, status: LoadStatus) -> int:
        return sum(s == status for s, _ in self.posts)

    @property
    def new_post_ids(self) -> list[int]:
        return [post_id for status, post_id in self.posts if status == LoadStatus.LOADED]


@dataclass
class LoadReport:
    results: list[SourceResult] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # where the time went, by stage (the benchmark prints it)

    def count(self, status: LoadStatus) -> int:
        return sum(r.count(status) for r in self.results)

    @property
    def failed(self) -> list[SourceResult]:
        return [r for r in self.results if r.failed]

    @property
    def warnings(self) -> list[str]:
        return [f"{r.source}: {w}" for r in self.results for w in r.warnings]

    @property
    def skipped(self) -> list[SourceResult]:
        return [r for r in self.results if r.skipped is not None]

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(s)} {s}" for s in LoadStatus)
        treaties = sum(r.treaty is not None for r in self.results)
        texts = f", {treaties} treaty text{'s' if treaties != 1 else ''}" if treaties else ""
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        return f"{counts}{texts}, {len(self.failed)} failed{skipped}"


# --------------------------------------------------------------------------- digests


@dataclass(frozen=True)
class DigestView:
    local_date: dt.date
    timezone: str
    since: dt.datetime
    until: dt.datetime
    posts: tuple[PostCard, ...]  # loaded in (since, until], newest first
    most_discussed: PostCard | None = None
    most_discussed_comments: int = 0  # comments written in the window

    @property
    def empty(self) -> bool:
        return not self.posts

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(zoneinfo.ZoneInfo(self.timezone))


@dataclass(frozen=True)
class DigestJob:
    """A claimed digest, ready to send."""

    subscription: Subscription
    run: Run
    digest: DigestView


@dataclass(frozen=True)
class StatusInfo:
    subscription: Subscription
    last_run: Run | None
    next_run: dt.datetime
    recent: tuple[Run, ...] = ()


# --------------------------------------------------------------------------- search and feeds

Snippet = tuple[tuple[str, bool], ...]  # pieces of text, each flagged whether it matched the query


@dataclass(frozen=True)
class SearchHit:
    kind: HitKind
    id: int  # of the post, comment or article
    score: float  # higher is better
    title: str  # the post's title (a comment's post's), or the treaty's name
    heading: Snippet  # the title, matched words flagged (posts)
    snippet: Snippet
    post_id: int | None = None
    date: dt.date | None = None  # the post's date
    author: str | None = None  # of a comment
    article: str | None = None  # an article's label ("4", "IV")
    posted_at: dt.datetime | None = None  # when a comment was written (None: its file does not say)
    link: str | None = None  # the post's own address (its source), when stored
    thread: ThreadRef | None = None  # the post's discussion thread in the server asking


@dataclass(frozen=True)
class Announcements:
    """A subscription's pending announcements, taken by one sender with a lease: each card with the
    entries it announces (marked sent once it is), then `more` posts said in one line (entries `rest`)."""

    feed: FeedRecord
    cards: tuple[tuple[PostCard, tuple[int, ...]], ...]
    more: int = 0
    rest: tuple[int, ...] = ()
    images: dict[int, str] = field(default_factory=dict)  # post id -> the entry's picture, when it has one


@dataclass(frozen=True)
class Discovered:
    """The feed `/feed add` watches for the address it was given: that address, or a feed its web page names."""

    url: str  # the feed's address
    page: str | None = None  # the web page it was found on, when it was
    kind: str | None = None  # "RSS" or "Atom", as the page named it
    title: str | None = None  # the page's title for it
    others: tuple[str, ...] = ()  # the other feeds the page names

    @property
    def found(self) -> bool:
        return self.page is not None


@dataclass
class PollResult:
    """One poll of one subscription (its URL is fetched once for all of them). `feed` is None
    when the subscription was removed while it was polled."""

    feed: FeedRecord | None
    ok: bool
    to_announce: int = 0  # entries new to it, recorded as pending for its server to be told of
    paused_now: bool = False  # this poll paused the feed: tell its server
    status: str | None = None  # what the poll did for this subscription: "ok: 1 new, 0 updated, 53 unchanged"
