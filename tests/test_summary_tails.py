"""Feed boilerplate at the end of a post ("Continue reading...", "Read more", "The post … appeared
first on …") is left out of its summary, while the stored body stays as the feed gave it."""

from __future__ import annotations

import pytest

from bot.ingest.tails import drop_tails
from bot.services.loading import load
from bot.services.posts import cards
from bot.store.posts import iter_posts

from .helpers import NOW, fixture


@pytest.mark.parametrize(
    "text, kept",
    [
        ("The summit opened. Continue reading...", "The summit opened."),
        ("The summit opened.\n\nContinue reading “What the summit means”…", "The summit opened."),
        ("The summit opened. Read more »", "The summit opened."),
        ("The summit opened. [Read more]", "The summit opened."),
        ("The summit opened.\n\nRead the full story at Example News", "The summit opened."),
        ("The summit opened. Keep reading →", "The summit opened."),
        ("The summit opened.\n\nThe post Summit opens: Mr. Kim arrives appeared first on Example News.", "The summit opened."),
        ("The summit opened. Read more\n\nThe post Summit opens appeared first on Example News.", "The summit opened."),
        ("The summit opened with a long speech […]", "The summit opened with a long speech…"),
        # Not boilerplate: said within a sentence, or a sentence that only starts alike.
        ("Voters want to read more about it.", "Voters want to read more about it."),
        ("Read more books. Then the summit opened.", "Read more books. Then the summit opened."),
        ("The post office closed early.", "The post office closed early."),
    ],
)
def test_drop_tails(text, kept):
    assert drop_tails(text) == kept


def test_feed_summaries_leave_out_the_tail_and_bodies_keep_it(db):
    report = load(db, sources=[str(fixture("feeds", "rss2_guardian_us_2018.xml"))], now=NOW)
    assert report.summary().startswith("55 loaded")
    with db.session() as session:
        stored = list(iter_posts(session))
        tailed = [p for p in stored if p.body.rstrip().endswith("Continue reading...")]
        assert len(tailed) > 40  # the feed's own text, as it gave it (an export writes it back unchanged)
        shown = cards(session, post_ids=[p.id for p in tailed], scope=None)
    assert all("Continue reading" not in card.summary for card in shown)
    assert all(card.summary for card in shown)
