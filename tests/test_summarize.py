"""Extractive summaries: offline, deterministic, 2–3 sentences in text order, never empty."""

from __future__ import annotations

import re

import feedparser
import pytest

from bot.ingest.posts import read_post_file
from bot.ingest.sentences import split_sentences
from bot.summarize import summarize

from .helpers import SAMPLE, fixture


def test_sample_summary_is_two_or_three_sentences_in_text_order():
    body = read_post_file(SAMPLE).body
    summary = summarize(body)
    sentences = split_sentences(summary)
    assert 2 <= len(sentences) <= 3
    positions = [body.index(s) for s in sentences]
    assert positions == sorted(positions)
    assert summarize(body) == summary  # deterministic


def test_splitter_keeps_abbreviations_initials_decimals_and_quotes():
    text = (
        "Mr. Smith flew to the U.S. Congress on Jan. 5 with John F. Kennedy Jr. and paid $3.50. "
        "He said “Go now.” Then he left! Was it Article 4? Yes."
    )
    assert split_sentences(text) == [
        "Mr. Smith flew to the U.S. Congress on Jan. 5 with John F. Kennedy Jr. and paid $3.50.",
        "He said “Go now.”",
        "Then he left!",
        "Was it Article 4?",
        "Yes.",
    ]


def test_quote_glued_to_the_previous_word_does_not_split():
    text = "Article 4 states that“if one Party is attacked, the other will help.” However, nobody worried."
    assert split_sentences(text) == [
        "Article 4 states that“if one Party is attacked, the other will help.”",
        "However, nobody worried.",
    ]


@pytest.mark.parametrize("text", ["One sentence without a full stop", "Short.", "   word   ", "12345", "!!!"])
def test_never_empty_for_non_empty_text(text):
    assert summarize(text).strip()


def test_empty_text_gives_empty_summary():
    assert summarize("") == ""
    assert summarize("  \n\n ") == ""


@pytest.mark.parametrize(
    "name",
    ["rss2_guardian_us_2018.xml", "blogger_atom_google_testing_blog_2017.xml", "blogger_atom_google_ads_developer_blog_2016.xml"],
)
def test_corpus_feed_texts(name):
    feed = feedparser.parse(fixture("feeds", name).read_bytes())
    texts = []
    for entry in feed.entries:
        html = entry.content[0].value if "content" in entry else entry.get("summary", "")
        texts.append(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip())
    assert texts
    for text in filter(None, texts):
        summary = summarize(text)
        assert summary
        assert len(split_sentences(summary)) <= 3
        assert summary == summarize(text)
