"""bot.ingest.feeds: RSS/Atom through feedparser, on real feeds (tests/fixtures/feeds/) and small inline feeds."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.ingest.feeds import FeedParseError, FeedResult, html_to_text, looks_like_feed, parse_feed
from bot.ingest.post_writer import format_post
from bot.ingest.posts import parse_post

from .helpers import fixture

REPO = Path(__file__).resolve().parents[1]
ADS = fixture("feeds", "blogger_atom_google_ads_developer_blog_2016.xml")
TESTING = fixture("feeds", "blogger_atom_google_testing_blog_2017.xml")
GUARDIAN = fixture("feeds", "rss2_guardian_us_2018.xml")
SAMPLE_POST = REPO / "data" / "2024-06-23-what-putins-meeting-with-kim-jong-un-really-means.txt"


def round_trips_as_post_file(post) -> bool:
    """A feed post exported as a post file reads back the same (link and id have no line there)."""
    again = parse_post(format_post(post))
    return dataclasses.replace(again, link=post.link, entry_id=post.entry_id) == post


# --- real feeds (tests/fixtures/feeds/) -------------------------------------------------------


def test_blogger_atom_testing_blog():
    result = parse_feed(TESTING.read_bytes())
    assert isinstance(result, FeedResult)
    assert result.title == "Google Testing Blog"
    assert result.warnings == []
    assert len(result.posts) == 25
    first = result.posts[0]
    assert first.title == "Code Health: Providing Context with Commit Messages and Bug Reports"
    # published 2017-09-11T14:01:00-07:00 == 21:01 UTC, same day
    assert first.date == dt.date(2017, 9, 11)
    assert first.source == "Google Testing Blog" and first.headline is None
    assert first.author == "Google Testing Bloggers"
    assert first.entry_id == "tag:blogger.com,1999:blog-15045980.post-8046216467923860328"
    assert first.link == "http://testing.googleblog.com/2017/09/code-health-providing-context-with.html"
    assert first.labels == ["Chris Lewis", "Code Health", "TotT"]
    assert first.declared_comments == 2  # thr:total
    assert first.comments == [] and first.truncated is False and first.warnings == []
    assert first.body.startswith("This is another post in our Code Health series.")
    assert "<" not in first.body and "&amp;" not in first.body
    assert [p.declared_comments for p in result.posts][:5] == [2, 0, 9, 4, 14]
    assert all(p.declared_comments is not None for p in result.posts)
    assert len({p.entry_id for p in result.posts}) == 25


def test_blogger_atom_ads_blog():
    result = parse_feed(ADS.read_bytes())
    assert result.title == "Google Ads Developer Blog"
    assert len(result.posts) == 25 and result.warnings == []
    first = result.posts[0]
    assert first.title == "AdWords and DFP Java client library will soon require Java 7+"
    assert first.date == dt.date(2016, 6, 3)
    assert first.author == "Google Ads Developer Advisor"
    assert first.labels == ["adwords_api", "client_libraries", "dfp_api"]
    assert first.declared_comments is None  # this feed carries no thr:total
    paragraphs = first.body.split("\n\n")
    assert paragraphs[0] == (
        "After November 2016, all releases of the Google Ads API Java Client Library will only be "
        "compatible with Java 7 (1.7) and higher."
    )
    assert "- Java 6 is a bit outdated" in first.body  # list items kept as lines
    assert paragraphs[-1] == "- Josh Radcliff, AdWords API Team"
    assert result.posts[-1].date == dt.date(2015, 10, 15)


def test_guardian_rss():
    result = parse_feed(GUARDIAN.read_bytes())
    assert result.title == "The Guardian"
    assert len(result.posts) == 55 and result.warnings == []
    first = result.posts[0]
    assert first.title == "Trump State of the Union address promised unity but emphasized discord"
    assert first.date == dt.date(2018, 1, 31)
    assert first.author == "David Smith in Washington"  # dc:creator
    url = "https://www.theguardian.com/us-news/2018/jan/31/donald-trump-state-of-the-union-address-unity-discord"
    assert first.link == url and first.entry_id == url
    assert first.labels[:3] == ["Donald Trump", "State of the Union address", "US news"]
    assert first.declared_comments is None
    assert first.body.split("\n\n") == [
        "The president’s ‘new American moment’ speech stirred Republican applause while Democrats "
        "showed thinly disguised contempt",
        "Donald Trump has promised a “new American moment” in a State of the Union address that sought "
        "harmony but succeeded only in underlining the deep discord at the heart of the country’s politics.",
        "Related: Fact check: Donald Trump's State of the Union address analyzed",
        "Continue reading...",
    ]
    # five items have an empty <dc:creator />
    assert sum(p.author is None for p in result.posts) == 5
    # whitespace inside tags is tidied ("Francis Ford  Coppola")
    assert all("  " not in label for p in result.posts for label in p.labels)


@pytest.mark.parametrize("name", [ADS.name, TESTING.name, GUARDIAN.name])
def test_corpus_feeds_export_as_post_files(name):
    result = parse_feed(fixture("feeds", name).read_bytes())
    assert looks_like_feed(fixture("feeds", name).read_bytes())
    for post in result.posts:
        assert post.title and post.body
        assert round_trips_as_post_file(post), post.title


def test_str_input_matches_bytes():
    data = GUARDIAN.read_bytes()
    assert parse_feed(data.decode("utf-8")) == parse_feed(data)


# --- small inline feeds -------------------------------------------------------------------------

ATOM = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
  <title>Pyongyang Watch</title>
  <updated>2024-06-23T12:00:00Z</updated>
  <entry>
    <id>tag:example.org,2024:post-1</id>
    <title type="html">Putin &amp;amp; Kim &lt;i&gt;sign&lt;/i&gt; a pact</title>
    <published>2024-06-23T23:30:00-07:00</published>
    <author><name>Dmitry</name></author>
    <link rel="alternate" href="https://example.org/2024/06/pact.html"/>
    <category term="Russia"/><category term="North Korea"/><category term="Russia"/>
    <thr:total>7</thr:total>
    <content type="html">&lt;style&gt;p{color:red}&lt;/style&gt;&lt;p&gt;First &amp;amp; foremost:   the   pact.&lt;/p&gt;
      &lt;script&gt;alert("x")&lt;/script&gt;&lt;div&gt;Second&lt;br/&gt;line&lt;br&gt;&lt;br&gt;Third &amp;#8211; &amp;eacute;t&amp;eacute;&lt;/div&gt;
      &lt;ul&gt;&lt;li&gt;one&lt;/li&gt;&lt;li&gt;two&lt;/li&gt;&lt;/ul&gt;</content>
  </entry>
  <entry>
    <title>No date of its own</title>
    <link href="https://example.org/2024/06/nodate.html"/>
    <summary>Plain summary.</summary>
  </entry>
</feed>
"""

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
  <title>RT News</title>
  <item>
    <title>What Putin's meeting with Kim Jong-un really means</title>
    <link>https://example.org/putin-kim</link>
    <guid isPermaLink="false">rt-2024-06-23-1</guid>
    <pubDate>Sun, 23 Jun 2024 09:10:00 GMT</pubDate>
    <dc:creator>Staff</dc:creator>
    <slash:comments>3</slash:comments>
    <description>&lt;p&gt;On his recent visit to Pyongyang...&lt;/p&gt;</description>
  </item>
  <item>
    <description>An item with no title. It still has text.</description>
    <pubDate>Sun, 23 Jun 2024 10:00:00 GMT</pubDate>
  </item>
  <item>
    <title>Neither date nor anything else</title>
  </item>
</channel>
</rss>
"""


def test_atom_entry_fields():
    result = parse_feed(ATOM)
    assert result.title == "Pyongyang Watch"
    post = result.posts[0]
    assert post.title == "Putin & Kim sign a pact"
    # 23:30 at -07:00 is 06:30 UTC the next day: the date is the UTC date
    assert post.date == dt.date(2024, 6, 24)
    assert post.author == "Dmitry"
    assert post.link == "https://example.org/2024/06/pact.html"
    assert post.entry_id == "tag:example.org,2024:post-1"
    assert post.labels == ["Russia", "North Korea"]
    assert post.declared_comments == 7
    assert post.source == "Pyongyang Watch" and post.headline is None
    assert post.body == "First & foremost: the pact.\n\nSecond\nline\n\nThird – été\n\n- one\n- two"
    assert round_trips_as_post_file(post)


def test_atom_entry_without_date_uses_feed_date():
    result = parse_feed(ATOM)
    post = result.posts[1]
    assert post.date == dt.date(2024, 6, 23)
    assert post.entry_id == "https://example.org/2024/06/nodate.html"  # no id: the link
    assert post.body == "Plain summary."
    assert post.declared_comments is None
    assert result.warnings == ["entry 2 ('No date of its own'): no date, using the feed's date"]


def test_rss_items():
    result = parse_feed(RSS)
    assert result.title == "RT News"
    first, second = result.posts
    assert first.entry_id == "rt-2024-06-23-1"
    assert first.link == "https://example.org/putin-kim"
    assert first.author == "Staff"
    assert first.declared_comments == 3  # slash:comments
    assert first.date == dt.date(2024, 6, 23)
    assert first.body == "On his recent visit to Pyongyang..."
    assert second.title == "An item with no title. It still has text."
    assert result.warnings == [
        "entry 2: no title, using the start of its text",
        "entry 3 ('Neither date nor anything else'): no date, skipped",
    ]


def test_not_well_formed_but_has_entries_warns():
    broken = RSS.replace(b"</channel>", b"<oops></channel>")
    result = parse_feed(broken)
    assert len(result.posts) == 2
    assert result.warnings[0].startswith("feed is not well-formed")


def test_empty_feed_is_a_feed():
    result = parse_feed(b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>')
    assert result == FeedResult(title="Quiet", posts=[], warnings=["feed has no entries"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty feed data"),
        (b"   \n ", "empty feed data"),
        ("", "empty feed data"),
        (b"<!DOCTYPE html><html><head><title>News</title></head><body><p>Hi</p></body></html>",
         "not a feed: an HTML page, not RSS/Atom XML"),
        (b"<html><body><p>unclosed", "not a feed: an HTML page, not RSS/Atom XML"),
        (b"just some text, not xml", "not a feed: the data is not well-formed XML"),
        (b"<?xml version='1.0'?><note><to>Tove</to></note>", "not a feed: no RSS/Atom elements found"),
    ],
)
def test_not_a_feed(data, message):
    with pytest.raises(FeedParseError) as info:
        parse_feed(data)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, ParseError)


def test_bytes_naming_a_file_are_data_not_a_path():
    # feedparser opens bytes/str that name a file; parse_feed must never read the disk.
    with pytest.raises(FeedParseError):
        parse_feed(str(SAMPLE_POST).encode())
    with pytest.raises(FeedParseError):
        parse_feed(str(SAMPLE_POST))


def test_str_with_declared_encoding():
    text = (
        "<?xml version='1.0' encoding='iso-8859-1'?><rss version='2.0'><channel><title>Café</title>"
        "<item><title>Été</title><pubDate>Sun, 23 Jun 2024 09:10:00 GMT</pubDate>"
        "<description>déjà vu</description></item></channel></rss>"
    )
    result = parse_feed(text)
    assert result.title == "Café"
    assert [(p.title, p.body) for p in result.posts] == [("Été", "déjà vu")]
    assert result.warnings == []


def test_looks_like_feed():
    assert looks_like_feed(ATOM)
    assert looks_like_feed(RSS)
    assert looks_like_feed(b'\xef\xbb\xbf<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="x">')
    assert looks_like_feed(b"<RSS version='2.0'>")
    assert not looks_like_feed(SAMPLE_POST.read_bytes())
    assert not looks_like_feed(b"<!DOCTYPE html><html><body>feed me</body></html>")
    assert not looks_like_feed(b"")
    assert looks_like_feed(b" " * 2000 + b"<rss>")  # what comes before the root element may be long...
    assert not looks_like_feed(b"<!--" + b"x" * 70_000 + b"--><rss>")  # ...but not endless
    assert not looks_like_feed(b"Sunday, June 23, 2024\n\n<rss> in a post's title\n")


def test_html_to_text():
    assert html_to_text("<p>a &lt;b&gt; &amp; c&nbsp;d</p><p></p><p> e </p>") == "a <b> & c\xa0d\n\ne"
    assert html_to_text("x<script>var a = '<p>';</script>y<style>p {}</style>z") == "xyz"
    assert html_to_text("<pre>line 1\nline 2</pre>") == "line 1\nline 2"
    assert html_to_text("one<br>two<br/><br />three") == "one\ntwo\n\nthree"
    assert html_to_text("<h2>Head</h2>text <b>bold</b> <a href='#'>link</a>") == "Head\n\ntext bold link"
    assert html_to_text("") == ""
