"""The query plans behind the commands: every statement a command's use case sends, EXPLAINed.

The commands scenario calls `check_plans` on its store (SQLite and PostgreSQL) after timing: it
runs each read use case once as a member of one of the store's servers, records the SQL it sends
(a SQLAlchemy `before_cursor_execute` listener), and asks the database for each statement's plan.
A plan that reads a whole big table (SQLite `SCAN post`, PostgreSQL `Seq Scan on comment`, ...)
is reported, so a scope filter without an index shows up here before it shows up in p99.
Planner settings a use case sets for its statements (`SET LOCAL ...`: /search on PostgreSQL) are
replayed in order before the statements they precede, each transaction's apart (/search ranks
posts on a connection of their own, beside comments: `Database.side_by_side`). On PostgreSQL
`/search`'s statements are EXPLAIN ANALYZEd (the plan as it ran, with its times: does the newest-matches index serve them?).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import event

_SQLITE_SCAN = re.compile(r"\bSCAN (post|comment|quote)\b(?! USING)")
_PG_SCAN = re.compile(r"Seq Scan on (post|comment|quote)\b")


@dataclass
class Plan:
    use_case: str
    sql: str
    plan: str
    full_scan: str | None  # the big table read whole, if any
    analyzed: bool = False  # EXPLAIN ANALYZE: `plan` has the actual rows and times


def _use_cases(db, guild: int, post_id: int):
    from bot.services import articles, comments, posts, search

    yield "/post show", lambda: posts.show_post(db, post_id=post_id, scope=guild)
    yield "/post list", lambda: posts.post_page(db, page=0, scope=guild)
    yield "post autocomplete", lambda: posts.post_choices(db, current="summit", scope=guild)
    yield "/comments", lambda: comments.list_comments(db, post_id=post_id, scope=guild)
    yield "/article", lambda: articles.quote_article(db, number=5, scope=guild)
    yield "/search", lambda: search.search(db, query="nuclear deterrence", scope=guild)


def check_plans(url: str, *, guild: int, post_id: int) -> list[Plan]:
    from bot.db import Database

    db = Database(url)
    sent: dict[int, list[tuple[str, object]]] = {}  # by the transaction's connection, in order

    def record(conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith(("SELECT", "SET ")):
            sent.setdefault(id(conn), []).append((statement, parameters))

    plans: list[Plan] = []
    sqlite = db.dialect == "sqlite"
    for name, run in _use_cases(db, guild, post_id):
        sent.clear()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            run()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        analyze = not sqlite and name == "/search"
        for statements in sent.values():
            with db.engine.connect() as connection:  # one transaction, so SET LOCAL holds for what follows it
                cursor = connection.connection.driver_connection.cursor()
                for statement, parameters in statements:
                    if statement.lstrip().upper().startswith("SET "):
                        cursor.execute(statement, parameters)
                        continue
                    explain = "EXPLAIN QUERY PLAN " if sqlite else ("EXPLAIN (ANALYZE) " if analyze else "EXPLAIN ")
                    cursor.execute(explain + statement, parameters)
                    plan = "\n".join(str(r[-1] if sqlite else r[0]) for r in cursor.fetchall())
                    scan = (_SQLITE_SCAN if sqlite else _PG_SCAN).search(plan)
                    plans.append(Plan(name, " ".join(statement.split())[:300], plan, scan.group(1) if scan else None, analyze))
                connection.rollback()
    db.dispose()
    return plans

