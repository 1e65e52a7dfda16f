"""Deterministic synthetic posts for the benchmarks, and a fast bulk builder of large stores.

Everything is driven by one seeded ``random.Random``: the same (n, seed) gives the same posts,
byte for byte, on every machine. Text is built from a fixed pool of sentences, so generating a
million comments costs seconds, not minutes, yet lengths look like the real corpus: a post
body of 4-12 paragraphs (~3 kB), 10 comments per post on average, some bodies and comments
quoting an article of one of several treaties in the forms DESIGN.md §3 recognises
("Article 5 of the North Atlantic Treaty states that “...”", Roman numerals for the NPT,
odd spacing as in the sample post).

Two outputs:
* ``generate_posts(n, seed)`` yields ``ParsedPost`` objects; ``write_post_files`` writes them
  through ``bot.ingest.post_writer.format_post`` (the real layout), cached under bench/.cache/.
* ``build_store(url, n, seed)`` inserts rows straight into an upgraded database with SQLAlchemy
  core ``executemany`` in big transactions - setup for the command scenarios, not a measured
  figure - with the posts spread over the library and 20 servers (``SCOPES``), as a bot in many
  servers has them. ``cached_sqlite_store`` keeps the result on disk keyed by size, seed and schema.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.ingest.post_writer import format_post
from bot.ingest.posts import ParsedComment, ParsedPost

log = logging.getLogger(__name__)

CACHE = Path(__file__).resolve().parent / ".cache"
GENERATOR_VERSION = 2  # bump when the generated text or its scopes change, so caches are rebuilt
START_DATE = dt.date(2016, 1, 1)
LIBRARY = 0  # bot.models.LIBRARY: the library's scope
# A built store's posts are spread over the library and 20 servers: post i has scope SCOPES[i % 21].
GUILDS = tuple(1_300_000_000_000_000_000 + i for i in range(1, 21))
SCOPES = (LIBRARY, *GUILDS)
BENCH_GUILD = GUILDS[0]  # where the scenarios run their commands: it sees the library's posts and its own


def scope_of(post_id: int) -> int:
    return SCOPES[post_id % len(SCOPES)]


def visible_post_ids(n: int, guild: int = BENCH_GUILD) -> list[int]:
    """The ids of a built store's posts that `guild` sees."""
    return [i for i in range(1, n + 1) if scope_of(i) in (LIBRARY, guild)]

WORDS = """
the of and to in a is that for on with as by at from this be it are was an have has not
which its will their more been they or but would about after also who new one all other
two than into over said year years when there some can could what up out first only time
government minister president country countries foreign policy security military defence
defense talks summit agreement treaty alliance partnership cooperation sanctions economy
trade energy oil gas nuclear weapons missile missiles border region regional war peace
conflict crisis officials analysts experts observers western eastern northern southern
europe asia moscow washington beijing pyongyang seoul tokyo kyiv brussels berlin paris
london ankara tehran delhi members member state states parties party attack assistance
forces troops exercises deterrence strategic strategy relations diplomatic diplomacy
visit meeting leaders leader statement declaration pact guarantee commitment obligation
article clause provision text signed ratified negotiated implementation compliance
international law charter council united nations resolution vote majority minority
public opinion media press report reports according source sources sign signal message
response threat threats risk risks escalation stability balance power powers influence
important significant serious possible likely unlikely recent latest current future past
""".split()

AUTHORS = [
    "Anonymous", "Anonymous", "Anonymous", "Anonymous", "Marco", "Ivan P.", "Helga", "Sam K",
    "old_hand", "Liu Wei", "Observer", "Tomasz", "Priya", "Jean-Luc", "Kenji", "Ana María",
    "realist", "Dmitri", "Grace", "Yusuf", "Nadia", "Pieter", "Chris", "Ola", "Farid",
]
SOURCES = ["RT", "Reuters", "TASS", "The Guardian", "Al Jazeera", "Asia Times", "Sputnik", "AP", "Global Times", "Le Monde"]

# (treaty phrase as a post would write it, [(article label, quoted text)])
TREATY_QUOTES = [
    (
        "the North Atlantic Treaty",
        [
            ("5", "The Parties agree that an armed attack against one or more of them in Europe or North America shall be considered an attack against them all."),
            ("4", "The Parties will consult together whenever, in the opinion of any of them, the territorial integrity, political independence or security of any of the Parties is threatened."),
            ("6", "For the purpose of Article 5, an armed attack on one or more of the Parties is deemed to include an armed attack on the territory of any of the Parties in Europe or North America."),
            ("10", "The Parties may, by unanimous agreement, invite any other European State in a position to further the principles of this Treaty to accede to this Treaty."),
        ],
    ),
    (
        "the Russia-DPRK strategic partnership treaty",
        [
            ("4", "if one of the Parties is subjected to an armed attack by any State or several States and thus finds itself in a state of war, the other Party will immediately provide military and other assistance with all the means at its disposal."),
            ("3", "In the event of an immediate threat of an act of armed aggression against one of the Parties, the Parties shall immediately use bilateral channels for consultations."),
            ("2", "The Parties shall exchange views on issues of mutual interest and strengthen cooperation in the international arena."),
        ],
    ),
    (
        "the NPT",
        [
            ("VI", "Each of the Parties to the Treaty undertakes to pursue negotiations in good faith on effective measures relating to cessation of the nuclear arms race at an early date and to nuclear disarmament."),
            ("I", "Each nuclear-weapon State Party to the Treaty undertakes not to transfer to any recipient whatsoever nuclear weapons or other nuclear explosive devices."),
            ("X", "Each Party shall in exercising its national sovereignty have the right to withdraw from the Treaty if it decides that extraordinary events have jeopardized the supreme interests of its country."),
            ("IV", "Nothing in this Treaty shall be interpreted as affecting the inalienable right of all the Parties to the Treaty to develop research, production and use of nuclear energy for peaceful purposes."),
        ],
    ),
    (
        "the UN Charter",
        [
            ("51", "Nothing in the present Charter shall impair the inherent right of individual or collective self-defence if an armed attack occurs against a Member of the United Nations."),
            ("2", "All Members shall refrain in their international relations from the threat or use of force against the territorial integrity or political independence of any state."),
        ],
    ),
]
ROMAN = {"I": 1, "IV": 4, "VI": 6, "X": 10}


@dataclass(frozen=True)
class GeneratedQuote:
    """An article quote the generator put into a text: what the loader should find."""

    treaty: str  # the phrase used, e.g. "the North Atlantic Treaty"
    number: int
    text: str


class _Text:
    """Sentence and paragraph factory over one seeded Random: a fixed pool, then choices."""

    def __init__(self, rng: random.Random, pool_size: int = 4000) -> None:
        self.rng = rng
        self.sentences = [self._sentence() for _ in range(pool_size)]

    def _sentence(self) -> str:
        words = self.rng.choices(WORDS, k=self.rng.randint(8, 26))
        words[0] = words[0].capitalize()
        return " ".join(words) + self.rng.choice(".........?!")

    def paragraph(self, lo: int, hi: int) -> str:
        return " ".join(self.rng.choices(self.sentences, k=self.rng.randint(lo, hi)))

    def title(self, index: int) -> str:
        words = self.rng.choices(WORDS, k=self.rng.randint(5, 11))
        words[0] = words[0].capitalize()
        # The index keeps titles (hence post keys) unique for any n.
        return f"{' '.join(words)} ({index})"

    def quote(self, *, comment: bool) -> tuple[str, GeneratedQuote]:
        treaty, articles = self.rng.choice(TREATY_QUOTES)
        label, words = self.rng.choice(articles)
        number = ROMAN.get(label) or int(label)
        style = self.rng.randrange(4)
        if style == 0:
            sentence = f"Article {label} of {treaty} states that “{words}”"
        elif style == 1:
            sentence = f"Article {label} of {treaty} states that“{words}”"  # odd spacing, as in the sample
        elif style == 2:
            sentence = f"As Article {label} of {treaty} puts it, \"{words}\""
        else:
            sentence = f"Remember Article {label} of {treaty}: “{words}”"
        if comment:
            sentence = f"{self.paragraph(1, 2)} {sentence}"
        return sentence, GeneratedQuote(treaty=treaty, number=number, text=words)


def generate(n: int, seed: int = 0) -> Iterator[tuple[ParsedPost, list[GeneratedQuote]]]:
    """n posts with the quotes put into each, deterministic for (n, seed); dates oldest first."""
    rng = random.Random(f"postbot-bench:{seed}")
    text = _Text(rng)
    span = max(1, min(n // 3, 3000))  # ~3 posts a day, at most ~8 years
    for index in range(n):
        quotes: list[GeneratedQuote] = []
        date = START_DATE + dt.timedelta(days=index * span // max(n, 1))
        paragraphs = [text.paragraph(2, 6) for _ in range(rng.randint(3, 9))]
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            sentence, quote = text.quote(comment=False)
            at = rng.randrange(len(paragraphs))
            paragraphs[at] = f"{paragraphs[at]} {sentence}"
            quotes.append(quote)
        comments = []
        for position in range(rng.randint(0, 20)):  # mean 10
            body = "\n\n".join(text.paragraph(1, 3) for _ in range(rng.choice((1, 1, 1, 1, 2))))
            if rng.random() < 0.08:
                sentence, quote = text.quote(comment=True)
                body = f"{body}\n\n{sentence}"
                quotes.append(quote)
            posted_at = None
            if rng.random() < 0.5:
                posted_at = dt.datetime.combine(date, dt.time(rng.randrange(24), rng.randrange(60)), dt.timezone.utc)
            comments.append(ParsedComment(author=rng.choice(AUTHORS), text=body, posted_at=posted_at, position=position))
        post = ParsedPost(
            date=date,
            title=text.title(index),
            headline=None if rng.random() < 0.4 else text.title(index) + "?",
            source=rng.choice(SOURCES),
            body="\n\n".join(paragraphs),
            truncated=rng.random() < 0.3,
            comments=comments,
            declared_comments=len(comments),
        )
        yield post, quotes


def generate_posts(n: int, seed: int = 0) -> Iterator[ParsedPost]:
    """Just the posts of ``generate``."""
    for post, _ in generate(n, seed):
        yield post


def cache_key(*parts: object) -> str:
    raw = ":".join(str(p) for p in (GENERATOR_VERSION, *parts))
    return hashlib.sha256(raw.encode()).hexdigest()[:10]


def write_post_files(n: int, seed: int = 0, *, directory: Path | None = None) -> Path:
    """n post files in the post file layout (via ``format_post``), cached: a rerun reuses them."""
    directory = directory or CACHE / f"posts-{n}-s{seed}-{cache_key('files', n, seed)}"
    done = directory / ".complete"
    if done.exists():
        return directory
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    for index, post in enumerate(generate_posts(n, seed)):
        # Subdirectories of 1,000 keep directory listings fast.
        folder = directory / f"{index // 1000:04d}"
        folder.mkdir(exist_ok=True)
        (folder / f"{index:07d}.txt").write_text(format_post(post), encoding="utf-8")
    done.write_text(str(n))
    return directory


# ---------------------------------------------------------------------------- bulk store


def _schema_revision() -> str:
    from alembic.script import ScriptDirectory

    from bot.db import MIGRATIONS

    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head() or "none"


def build_store(url: str, n: int, seed: int = 0, *, batch: int = 2000, progress=None) -> dict:
    """Fill an empty database at ``url`` with n generated posts, their comments and quotes.

    Rows go in with core ``executemany`` in transactions of ``batch`` posts; post ids are
    assigned here so comments and quotes need no round trip. Treaties are the catalog's (as the loader
    would create them on first mention). Returns counts.
    """
    from sqlalchemy import insert, select

    from bot.db import Database
    from bot.ingest.names import known_treaties, match_treaty
    from bot.models import Comment, Post, Quote, Treaty, TreatyAlias
    from bot.services.loading import post_row
    from bot.store.posts import comment_values, content_hash, post_values

    database = Database(url)
    database.upgrade()
    now = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    counts = {"posts": 0, "comments": 0, "quotes": 0}
    treaties = known_treaties()
    treaty_ids: dict[str, int] = {}
    with database.engine.begin() as connection:
        for tid, t in enumerate(treaties, start=1):
            connection.execute(insert(Treaty).values(id=tid, name=t.name, created_at=now, provenance="", has_text=False))
            aliases = [{"treaty_id": tid, "alias": a} for a in dict.fromkeys(t.aliases)]
            taken = set(connection.execute(select(TreatyAlias.alias)).scalars())
            aliases = [a for a in aliases if a["alias"] not in taken]
            if aliases:
                connection.execute(insert(TreatyAlias), aliases)
            treaty_ids[t.name] = tid
    phrase_ids: dict[str, int | None] = {}
    for phrase, _ in TREATY_QUOTES:
        found = match_treaty(phrase.removeprefix("the "), treaties)
        phrase_ids[phrase] = treaty_ids.get(found.name) if found else None

    posts: list[dict] = []
    comments: list[dict] = []
    quotes: list[dict] = []

    def flush() -> None:
        with database.engine.begin() as connection:
            if posts:
                connection.execute(insert(Post), posts)
            if comments:
                connection.execute(insert(Comment), comments)
            if quotes:
                connection.execute(insert(Quote), quotes)
        counts["posts"] += len(posts)
        counts["comments"] += len(comments)
        counts["quotes"] += len(quotes)
        posts.clear(), comments.clear(), quotes.clear()
        if progress:
            progress(counts)

    for post_id, (parsed, generated) in enumerate(generate(n, seed), start=1):
        loaded = now + dt.timedelta(seconds=post_id)
        scope = scope_of(post_id)
        row = post_row(parsed, scope=scope, loaded_from=f"bench/{post_id}.txt")
        posts.append({"id": post_id, "key": row.key, "loaded_at": loaded, **post_values(row, digest=content_hash(row), now=loaded)})
        comments.extend(comment_values(post_id, row.comments, scope, loaded))
        for q in generated:
            # Which comment holds it does not matter for the figures; the body offset neither.
            quotes.append(
                {"post_id": post_id, "comment_id": None, "treaty_id": phrase_ids[q.treaty], "number": q.number, "text": q.text, "offset": 0,
                 "post_date": parsed.date, "scope": scope}
            )
        if len(posts) >= batch:
            flush()
    flush()
    _after_bulk_load(database)
    database.dispose()
    return counts


def _after_bulk_load(database) -> None:
    """Planner statistics, as a long-running store would have. (Search indexes are kept by the
    schema's own triggers / generated columns, so bulk-inserted rows are searchable already.)"""
    with database.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def cached_sqlite_store(n: int, seed: int = 0, *, progress=None) -> tuple[Path, float]:
    """Path of a SQLite store of n generated posts, built once per (n, seed, schema); (path, build seconds or 0)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"store-{n}-s{seed}-{cache_key('store', n, seed, _schema_revision())}.db"
    if path.exists():
        return path, 0.0
    partial = path.with_suffix(".partial.db")
    for stale in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    build_store(f"sqlite:///{partial}", n, seed, progress=progress)
    import sqlite3

    connection = sqlite3.connect(partial)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    partial.rename(path)
    for stale in (Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        stale.unlink(missing_ok=True)
    return path, time.perf_counter() - started


def private_copy(path: Path, target: Path) -> Path:
    """A private copy of a cached store for one bot run: the bot writes to it (at least the
    command-sync hash, which would stop the next simulated Discord from seeing any command)."""
    import sqlite3

    shutil.copyfile(path, target)
    connection = sqlite3.connect(target)
    with connection:
        connection.execute("DELETE FROM botstate")
    connection.close()
    return target
