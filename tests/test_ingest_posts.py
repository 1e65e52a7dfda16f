"""bot.ingest.posts: the post file layout, read and written back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.ingest.post_writer import format_post
from bot.ingest.posts import (
    ParsedComment,
    ParsedPost,
    PostParseError,
    decode_post_bytes,
    parse_post,
    read_post_file,
)

from .helpers import FIXTURES, SAMPLE
from .helpers import fixture as _fixture

UTC = dt.timezone.utc


def fixture(name: str) -> Path:
    return _fixture("posts", name)


def assert_round_trips(post: ParsedPost) -> str:
    text = format_post(post)
    again = parse_post(text)
    assert again == post, text
    assert format_post(again) == text  # writing is stable too
    return text


# --- the sample ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> ParsedPost:
    return read_post_file(SAMPLE)


def test_sample_header(sample):
    assert sample.date == dt.date(2024, 6, 23)
    assert sample.title == "What Putin’s meeting with Kim Jong-un really means"
    assert sample.headline == "The West’s fears realized? What Putin’s meeting with Kim Jong-un really means"
    assert sample.source == "RT"
    assert sample.author is None and sample.labels == []
    assert sample.link is None and sample.entry_id is None
    assert sample.warnings == []


def test_sample_body(sample):
    assert sample.body.startswith("On his recent visit to Pyongyang, Russian President Vladimir Putin")
    assert sample.body.endswith("During the consultations, a specific strategy and measures will be developed.")
    assert "More..." not in sample.body
    assert sample.truncated is True
    paragraphs = sample.body.split("\n\n")
    assert len(paragraphs) == 7
    assert paragraphs[1] == "Is this really a new level of relations between Moscow and Pyongyang?"
    assert all(p == p.strip() and p for p in paragraphs)
    assert "Article 4 of the Russia-DPRK strategic partnership treaty states that“if one" in sample.body


def test_sample_comments(sample):
    assert sample.declared_comments == 3
    assert [c.author for c in sample.comments] == ["Anonymous"] * 3
    assert [c.position for c in sample.comments] == [0, 1, 2]
    assert all(c.posted_at is None for c in sample.comments)
    first, second, third = (c.text for c in sample.comments)
    assert first.startswith("The “Eastern triangle” composed of Moscow-Beijing-Pyongyang, reminds me")
    assert first.endswith("Germany invading Russia and the Japanese bombing Pearl Harbor.")
    assert second == (
        "Putin is making the rounds setting in place multiple war fronts if and when things get serious. "
        "The idea is to spread thin the forces to a point of ineffectiveness. Things go hot in Ukraine "
        "another front opens in Korea, another front opens in Taiwan, another front opens in and so on."
    )
    assert third.startswith("Difference between ww2 and now is the United States unfortunately")
    assert third.endswith("even if that means burning it all down in the process.")


def test_sample_round_trips(sample):
    text = assert_round_trips(sample)
    # The writer reproduces the file itself, up to trailing whitespace on lines
    # (the sample has a stray "\xa0 " at one paragraph's end) and the final newline.
    original = SAMPLE.read_text(encoding="utf-8")
    assert text == "\n".join(line.strip() for line in original.split("\n")) + "\n"


def test_parse_post_equals_read_post_file(sample):
    assert parse_post(SAMPLE.read_text(encoding="utf-8")) == sample


# --- variants ------------------------------------------------------------------------------


def test_crlf():
    data = fixture("crlf.txt").read_bytes()
    assert b"\r\n" in data  # the fixture really has Windows line ends
    post = read_post_file(fixture("crlf.txt"))
    assert post.title == "What Putin’s meeting with Kim Jong-un really means"
    assert post.headline.startswith("The West’s fears realized?")
    assert post.source == "RT"
    assert post.body == (
        "Is this really a new level of relations between Moscow and Pyongyang?\n\n"
        "Those who consider the visit simply a gesture of support for Pyongyang are missing important details."
    )
    assert post.truncated
    assert post.declared_comments == 1 and len(post.comments) == 1
    assert "\r" not in post.body + post.comments[0].text
    assert post.warnings == []
    assert parse_post(data.decode("utf-8").replace("\r\n", "\r")) == post  # old Mac line ends too


def test_bom():
    data = fixture("bom.txt").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text, warning = decode_post_bytes(data)
    assert warning is None and not text.startswith("\ufeff")
    post = read_post_file(fixture("bom.txt"))
    assert post.date == dt.date(2024, 6, 23)
    assert post.title == "Article 4 quoted"
    assert (post.headline, post.source) == (None, "RT")
    assert post.body.startswith("Article 4 of the Russia-DPRK")
    assert post.declared_comments == 0 and post.comments == [] and post.warnings == []
    assert parse_post("\ufeff" + text) == post  # a BOM that survived decoding is fine too


def test_cp1252():
    data = fixture("cp1252.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text, warning = decode_post_bytes(data)
    assert warning == "not UTF-8; decoded as cp1252"
    post = read_post_file(fixture("cp1252.txt"))
    assert post.title == "Café owners react to the summit"
    assert post.body == "Owners of the café say they weren’t told – “nobody asked us”.\n\nPrices rose by 5 € overnight."
    assert post.warnings == ["not UTF-8; decoded as cp1252"]


def test_latin1_fallback():
    # 0x81 is unassigned in cp1252, so only latin-1 can decode this.
    text, warning = decode_post_bytes("June 23, 2024\n\nT\n\nx".encode() + b"\x81")
    assert warning == "not UTF-8; decoded as latin-1"
    assert text.endswith("x\x81")


def test_utf16_with_bom():
    text, warning = decode_post_bytes("June 23, 2024\n\nTitle\n".encode("utf-16"))
    assert text == "June 23, 2024\n\nTitle\n"
    assert warning == "not UTF-8; decoded as UTF-16"


def test_blogger_variants():
    post = read_post_file(fixture("blogger.txt"))
    assert post.title == "Putin in Pyongyang"
    assert post.body == "Putin and Kim signed a comprehensive strategic partnership agreement."
    assert post.author == "Dmitry"
    assert post.labels == ["Russia", "North Korea", "treaties"]
    assert "Posted by" not in post.body and "Labels" not in post.body
    assert post.declared_comments == 2 and post.warnings == []
    first, second = post.comments
    assert first.author == "Anonymous"
    assert first.text == "The “Eastern triangle” composed of Moscow-Beijing-Pyongyang reminds me of the Tripartite Pact."
    assert first.posted_at == dt.datetime(2024, 6, 23, 23, 42, tzinfo=UTC)
    assert first.posted_at.tzinfo is not None
    assert second.author == "Jane Doe"
    assert second.text == (
        "Difference between ww2 and now is distance.\n\n"
        "Any attack on Russia proper will likely cause an unthinkable response."
    )
    assert second.posted_at == dt.datetime(2024, 6, 23, 7, 5, tzinfo=UTC)  # bare time: the post's date
    assert second.position == 1


def test_no_headline_source_or_comments():
    post = read_post_file(fixture("no_header_no_comments.txt"))
    assert post.date == dt.date(2024, 6, 23)
    assert post.title == "Is this a new level of relations?"
    assert post.headline is None and post.source is None
    assert post.body.startswith("On his recent visit to Pyongyang")
    assert post.body.endswith("between Moscow and Pyongyang?")
    assert post.truncated is False
    assert post.comments == [] and post.declared_comments is None and post.warnings == []


def test_one_comment():
    post = read_post_file(fixture("one_comment.txt"))
    assert post.date == dt.date(2024, 6, 23)
    assert post.declared_comments == 1
    assert [(c.author, c.text) for c in post.comments] == [
        ("Anonymous", "Putin is making the rounds setting in place multiple war fronts.")
    ]
    assert post.warnings == []


def test_count_mismatch_is_a_warning():
    post = read_post_file(fixture("count_mismatch.txt"))
    assert post.declared_comments == 3
    assert [c.text for c in post.comments] == ["First.", "Second."]
    assert post.warnings == ["line 7: says 3 comments, found 2"]


def test_no_comments_with_a_comment_warns():
    post = parse_post("June 23, 2024\n\nT\n\nBody.\n\nNo comments:\n\nBob said...\n\nHi")
    assert post.declared_comments == 0
    assert post.warnings == ["line 7: says 0 comments, found 1"]


def test_comments_without_count_line():
    post = parse_post("June 23, 2024\n\nT\n\nBody.\n\nBob said...\nHi\n\nAlice said…\n\nHello")
    assert post.declared_comments is None
    assert [(c.author, c.text, c.position) for c in post.comments] == [("Bob", "Hi", 0), ("Alice", "Hello", 1)]
    assert post.warnings == []


def test_text_between_count_and_first_comment_warns():
    post = parse_post("June 23, 2024\n\nT\n\nBody.\n\n1 comment:\n\nPost a Comment\n\nBob said...\n\nHi")
    assert len(post.comments) == 1
    assert post.warnings == ["line 9: text before the first '<Author> said...' line ignored"]


def test_escaped_structure_lines():
    post = read_post_file(fixture("escaped.txt"))
    assert post.headline is None and post.source is None
    assert post.body == (
        "Source: a line that looks like a header label\n\n"
        "A body paragraph that quotes a structural line:\nMore..."
    )
    assert post.truncated is False
    (comment,) = post.comments
    assert comment.author == "Bob"
    assert comment.text == "A comment that quotes another one:\nAlice said...\n3 comments:\n\nJune 23, 2024 at 9:10 AM"
    assert comment.posted_at is None
    assert_round_trips(post)


def test_labelled_headline():
    post = read_post_file(fixture("headline_only.txt"))
    assert post.headline == "Putin, Kim sign mutual defence pact."
    assert post.source is None
    assert post.body == "The agreement obliges each side to help the other if attacked."


@pytest.mark.parametrize(
    "line",
    [
        "Sunday, June 23, 2024",
        "June 23, 2024",
        "Jun 23, 2024",
        "june 23 2024",
        "2024-06-23",
        "23 June 2024",
        "Sun, 23 Jun 2024",
        "Sunday 23rd June 2024",
        "Sun, 23 Jun 2024 09:10:00 +0000",
        "2024-06-23T09:10:00Z",
        "6/23/2024",
        "  Sunday, June 23, 2024  ",
    ],
)
def test_date_forms(line):
    post = parse_post(f"{line}\n\nTitle\n\nBody.\n")
    assert post.date == dt.date(2024, 6, 23)
    assert post.warnings == []


def test_wrong_weekday_is_a_warning():
    post = parse_post("Monday, June 23, 2024\n\nTitle\n")
    assert post.date == dt.date(2024, 6, 23)
    assert post.warnings == ["line 1: weekday 'Monday' does not match 2024-06-23 (a Sunday)"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("June 23, 2024 at 9:10 AM", dt.datetime(2024, 6, 23, 9, 10, tzinfo=UTC)),
        ("June 22, 2024 at 12:05 PM", dt.datetime(2024, 6, 22, 12, 5, tzinfo=UTC)),
        ("June 22, 2024 at 12:05 AM", dt.datetime(2024, 6, 22, 0, 5, tzinfo=UTC)),
        ("9:10 PM", dt.datetime(2024, 6, 23, 21, 10, tzinfo=UTC)),
        ("23 June 2024 at 21:10", dt.datetime(2024, 6, 23, 21, 10, tzinfo=UTC)),
        ("2024-06-24 08:00:30 +02:00", dt.datetime(2024, 6, 24, 6, 0, 30, tzinfo=UTC)),
        ("Monday, June 24, 2024 9:10:00 AM UTC", dt.datetime(2024, 6, 24, 9, 10, tzinfo=UTC)),
    ],
)
def test_comment_time_lines(line, expected):
    post = parse_post(f"June 23, 2024\n\nT\n\nBody.\n\nBob said...\n\nHi there.\n\n{line}\n")
    (comment,) = post.comments
    assert comment.text == "Hi there."
    assert comment.posted_at == expected
    assert comment.posted_at.utcoffset() is not None


def test_time_line_right_after_the_header():
    post = parse_post("June 23, 2024\n\nT\n\nBody.\n\nBob said...\nJune 23, 2024 at 9:10 AM\nHi there.")
    assert post.comments[0].text == "Hi there."
    assert post.comments[0].posted_at == dt.datetime(2024, 6, 23, 9, 10, tzinfo=UTC)


def test_not_a_time_line_stays_text():
    post = parse_post("June 23, 2024\n\nT\n\nBody.\n\nBob said...\n\nMeet at 25:99 PM")
    assert post.comments[0].text == "Meet at 25:99 PM" and post.comments[0].posted_at is None


def test_posted_by_without_time_and_with_odd_name():
    post = parse_post("June 23, 2024\n\nT\n\nBody.\n\nPosted by Bob at home\n")
    assert post.author == "Bob at home"
    assert post.body == "Body."
    post = parse_post("June 23, 2024\n\nT\n\nBody.\nPosted by Bob on June 23, 2024\n")
    assert post.author == "Bob" and post.body == "Body."


def test_more_only_at_the_end():
    post = parse_post("June 23, 2024\n\nT\n\nOne.\n\nMore...\n\nTwo.\n")
    assert post.body == "One.\n\nMore...\n\nTwo." and not post.truncated
    post = parse_post("June 23, 2024\n\nT\n\nOne.\nMore…\n\n\n2 comments:\n")
    assert post.body == "One." and post.truncated


def test_multi_line_paragraphs_kept():
    post = parse_post("June 23, 2024\n\nT\n\nline one of a wrapped paragraph\nline two.\n\nNext.")
    assert post.body == "line one of a wrapped paragraph\nline two.\n\nNext."


# --- headline / source detection ------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "headline", "source"),
    [
        # two-line block: headline then source (the sample's form)
        ("The West’s fears realized? What it means\nRT", "The West’s fears realized? What it means", "RT"),
        # one short line: the source
        ("RT", None, "RT"),
        ("The Guardian", None, "The Guardian"),
        # one longer line without end punctuation: the headline
        ("Putin and Kim sign a mutual defence pact in Pyongyang", "Putin and Kim sign a mutual defence pact in Pyongyang", None),
        # headline block, then a source block
        ("Putin and Kim sign a mutual defence pact in Pyongyang\n\nReuters",
         "Putin and Kim sign a mutual defence pact in Pyongyang", "Reuters"),
        # a question that echoes the title is a headline ...
        ("Summit in Pyongyang: what does the summit mean?", "Summit in Pyongyang: what does the summit mean?", None),
        # explicit labels always win
        ("Headline: A headline ending in a full stop.\nSource: RT", "A headline ending in a full stop.", "RT"),
        ("Source: Some very long source name that would otherwise be taken for a headline", None,
         "Some very long source name that would otherwise be taken for a headline"),
    ],
)
def test_header_detection(header, headline, source):
    post = parse_post(f"June 23, 2024\n\nSummit in Pyongyang\n\n\n{header}\n\n\nThe body starts here.\n")
    assert (post.headline, post.source) == (headline, source)
    assert post.body == "The body starts here."
    assert_round_trips(post)


@pytest.mark.parametrize(
    "first",
    [
        "A sentence that ends with a full stop.",
        "Is this really a new level of relations between Moscow and Pyongyang?",  # no title echo
        "One line\nsplit over two lines that end with a full stop.",
        "Three\nshort\nlines",
    ],
)
def test_body_not_taken_for_header(first):
    post = parse_post(f"June 23, 2024\n\nSummit in Pyongyang\n\n{first}\n\nMore text.\n")
    assert (post.headline, post.source) == (None, None)
    assert post.body == f"{first}\n\nMore text."


def test_single_block_is_body_not_header():
    # Guessing needs body text after the block: a lone short paragraph is the body.
    post = parse_post("June 23, 2024\n\nSummit\n\nRT\n")
    assert (post.headline, post.source, post.body) == (None, None, "RT")


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "line", "message"),
    [
        ("bad_empty.txt", 1, "empty post file"),
        ("bad_blank.txt", 1, "empty post file"),
        ("bad_no_date.txt", 1, "no date line (expected e.g. 'Sunday, June 23, 2024')"),
        ("bad_impossible_date.txt", 3, "impossible date 'February 30, 2024' (day is out of range for month)"),
        ("bad_binary.txt", 4, "binary data, not a text post file"),
        ("bad_control.txt", 7, "binary data, not a text post file"),
        ("bad_no_title.txt", 2, "missing title (expected a title line after the date)"),
        ("bad_count_as_title.txt", 3, "missing title (found '3 comments:' where the title should be)"),
    ],
)
def test_bad_files(name, line, message):
    with pytest.raises(PostParseError) as info:
        read_post_file(fixture(name))
    err = info.value
    assert err.line == line
    assert err.message == message
    assert str(err) == f"line {line}: {message}"
    assert err.path == fixture(name)
    assert isinstance(err, ParseError)


def test_binary_bytes_rejected_before_decoding():
    with pytest.raises(PostParseError, match=r"^line 2: binary data, not a text post file$"):
        decode_post_bytes(b"June 23, 2024\n\x00\x00\x00")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("2024-02-30\n\nT", 1, "impossible date '2024-02-30'"),
        ("2024-13-01\n\nT", 1, "impossible date '2024-13-01'"),
        ("June 31, 2024\n\nT", 1, "impossible date 'June 31, 2024'"),
        ("June 23, 2024 25:00\n\nT", 1, "impossible date 'June 23, 2024 25:00' (bad time of day)"),
        ("Hello, World 23, 2024\n\nT", 1, "no date line"),
        ("\n\n\nJune 23, 2024", 5, "missing title"),
        ("June 23, 2024\n\nMore...\n", 3, "missing title (found 'More...'"),
    ],
)
def test_bad_text(text, line, fragment):
    with pytest.raises(PostParseError) as info:
        parse_post(text)
    assert info.value.line == line
    assert fragment in str(info.value)


# --- writing and round trips --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in (FIXTURES / "posts").glob("*.txt") if not p.name.startswith("bad_")),
)
def test_fixtures_round_trip(name):
    assert_round_trips(read_post_file(fixture(name)))


def test_format_layout():
    post = ParsedPost(
        date=dt.date(2024, 6, 23),
        title="Title",
        headline=None,
        source=None,
        body="Body.",
        truncated=False,
        comments=[ParsedComment("Bob", "Hi.", dt.datetime(2024, 6, 23, 21, 5, tzinfo=UTC), 0)],
        author="Dmitry",
        labels=["a", "b"],
        declared_comments=1,
    )
    assert format_post(post) == (
        "Sunday, June 23, 2024\n\nTitle\n\n\nBody.\n\nPosted by Dmitry\nLabels: a, b\n\n\n1 comment:\n\n"
        "Bob said...\n\nHi.\n\nJune 23, 2024 at 9:05 PM\n"
    )
    assert_round_trips(post)


def _post(**changes) -> ParsedPost:
    base = ParsedPost(
        date=dt.date(2024, 6, 23), title="Summit", headline=None, source=None,
        body="The body.", truncated=False, comments=[],
    )
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(
    "post",
    [
        # comment text that looks like structure
        _post(comments=[ParsedComment("Bob", "Alice said...\n\n3 comments:\nNo comments\nMore...", None, 0),
                        ParsedComment("Alice", "Posted by Eve at 9:10 AM\nLabels: x\n\nJune 23, 2024 at 9:10 AM", None, 1)],
              declared_comments=2),
        # a comment whose text is a time line, and one with a real time in another zone
        _post(comments=[ParsedComment("Bob", "9:10 AM", None, 0),
                        ParsedComment("Eve", "", dt.datetime(2024, 6, 23, 9, 10, 5, 250, tzinfo=dt.timezone(dt.timedelta(hours=-5))), 1)]),
        # backslashes that are text, and escapes of escapes
        _post(body="\\o/ hooray\n\n\\More...\n\n\\\\More...", comments=[ParsedComment("Bob", "\\\\Alice said...\n\\", None, 0)]),
        # body whose first paragraph reads like a header
        _post(body="RT\n\nMore text."),
        _post(body="Source: Reuters\n\nMore text."),
        _post(body="A headline-like first paragraph\n\nMore text."),
        _post(headline="Only a headline here, no source", body="Reuters\n\nMore text."),
        # header values the plain form cannot carry
        _post(headline="A headline ending in a full stop.", source=None),
        _post(headline=None, source="A very long source name that the parser would take for a headline"),
        _post(headline="Bob said...", source="More..."),
        _post(headline="RT", source="Reuters"),
        _post(headline="A headline", source="AFP", body=""),
        _post(body="", truncated=True),
        _post(source="Feed title", body="", declared_comments=12),
        # titles that look like structure
        _post(title="More..."),
        _post(title="Putin said..."),
        _post(title="\\3 comments:"),
        # the body's last paragraph is "More..." but the post is not truncated
        _post(body="Text.\n\nMore...", truncated=False),
        _post(body="Text.\n\nMore...", truncated=True),
        _post(author="Bob at home", labels=["one", "two words"]),
        _post(comments=[ParsedComment("said...", "x", None, 0)]),
    ],
)
def test_tricky_posts_round_trip(post):
    assert parse_post(format_post(post)) == post


def test_random_files_round_trip():
    """Property: for any text parse_post accepts, parse(format(parse(text))) == parse(text)."""
    pieces = [
        "More...", "3 comments:", "1 comment:", "No comments:", "Bob said...", "Anonymous said…",
        "Posted by Bob at 9:10 AM", "Labels: a, b", "June 23, 2024 at 9:10 AM", "9:10 AM",
        "Headline: Big news", "Source: RT", "RT", "\\", "\\More...", "\\\\Bob said...", "\\o/",
        "A headline-ish line without a full stop", "Is this the end?", "A sentence.", "Summit news?",
        "Headline: Bob said...", "", "", "",
    ]
    rng = random.Random(20240623)
    checked = 0
    for _ in range(1500):
        lines = ["Sunday, June 23, 2024", "", rng.choice(["Summit news", "T"])]
        lines += [rng.choice(pieces) for _ in range(rng.randint(0, 20))]
        post = parse_post("\n".join(lines))
        text = format_post(post)
        assert parse_post(text) == post, "\n".join(lines)
        checked += 1
    assert checked == 1500
