"""bot.ingest.treaties: full treaty texts (tests/fixtures/treaties/) and small hand-written ones."""

import pytest

from bot.errors import ParseError
from bot.ingest.treaties import TreatyParseError, parse_treaty, roman_to_int

from .helpers import fixture


def treaty_text(name: str) -> str:
    return fixture("treaties", name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- real treaty texts


def test_north_atlantic_treaty():
    t = parse_treaty(treaty_text("treaty_north_atlantic_1949.txt"))
    assert t.title == "NORTH ATLANTIC TREATY"
    assert [a.number for a in t.articles] == list(range(1, 15))
    assert [a.label for a in t.articles] == [str(n) for n in range(1, 15)]
    assert all(a.chapter is None and a.title is None for a in t.articles)
    art5 = t.articles[4]
    assert art5.text.startswith("The Parties agree that an armed attack")
    assert "Article 51 of the Charter of the United Nations" in art5.text  # a mention, not a heading
    assert t.preamble.startswith("The Parties to this Treaty reaffirm their faith")
    assert t.preamble.endswith("They therefore agree to this North Atlantic Treaty:")
    # Article 6's sub-paragraphs stay paragraphs of Article 6.
    assert t.articles[5].text.count("\n\n") == 2
    assert t.articles[13].text.endswith("the fourth day of April, 1949.")
    assert t.sources == [
        "https://github.com/statengeneraal/laws-markdown/blob/91556a80a25a3da4234c8039945c6aeef4108d00/verdrag/navo-verdrag/BWBV0005760/README.md"
    ]
    assert len(t.notes) == 1 and t.notes[0].startswith("English text from the Dutch treaty database")
    assert "# source" not in t.preamble and "# note" not in t.preamble


def test_npt_roman_numerals_and_numbered_paragraphs():
    t = parse_treaty(treaty_text("treaty_npt_1968.txt"))
    assert t.title == "Treaty on the Non-Proliferation of Nuclear Weapons"
    assert [a.number for a in t.articles] == list(range(1, 12))
    assert [a.label for a in t.articles] == ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI"]
    art3 = t.articles[2].text.split("\n\n")
    assert [p[:3] for p in art3] == ["1. ", "2. ", "3. ", "4. "]
    assert t.articles[0].text.startswith("Each nuclear-weapon State Party to the Treaty undertakes not to transfer")
    # Relative markdown links into the source database keep only their text.
    assert "](" not in t.preamble and "](" not in t.articles[8].text
    assert "pursuant to article 102 of the Charter of the United Nations." in t.articles[8].text
    assert t.preamble.endswith("Have agreed as follows:")


def test_partial_russia_dprk_text_is_refused():
    """A summary plus quotes from news reports has no "Article N" headings: not loadable."""
    with pytest.raises(TreatyParseError, match="no 'Article N' headings found") as info:
        parse_treaty(treaty_text("treaty_russia_dprk_2024.txt"))
    assert info.value.line == 6  # the "title" line it took (after the provenance lines)
    assert str(info.value).startswith("line 6: ")


# --------------------------------------------------------------------------- hand-written


def test_heading_forms_titles_and_chapters():
    text = "\r\n".join(
        [
            "\ufeff# source: https://example.org/treaty",
            "# note: made up for a test",
            "Treaty of Tests",
            "",
            "The Parties agree as follows:",
            "",
            "CHAPTER I",
            "PURPOSES",
            "",
            "ARTICLE 1",
            "",
            "First text.",
            "",
            "Art. 2",
            "Second text.",
            "",
            "Chapter II — Defence",
            "",
            "Article 3 – Collective defence",
            "",
            "Third text.",
            "",
            "Article 4.",
            "",
            "Fourth text.",
            "",
            "Part A",
            "",
            "Article 5",
            "Final provisions",
            "",
            "Fifth text.",
            "",
            "## Article 6",
            "",
            "Sixth text.",
        ]
    )
    t = parse_treaty(text)
    assert t.title == "Treaty of Tests"
    assert t.preamble == "The Parties agree as follows:"
    assert t.sources == ["https://example.org/treaty"] and t.notes == ["made up for a test"]
    got = [(a.number, a.label, a.title, a.chapter, a.text) for a in t.articles]
    assert got == [
        (1, "1", None, "CHAPTER I — PURPOSES", "First text."),
        (2, "2", None, "CHAPTER I — PURPOSES", "Second text."),
        (3, "3", "Collective defence", "Chapter II — Defence", "Third text."),
        (4, "4", None, "Chapter II — Defence", "Fourth text."),
        (5, "5", "Final provisions", "Part A", "Fifth text."),
        (6, "6", None, "Part A", "Sixth text."),
    ]


def test_hard_wrapped_text_and_mentions_that_look_like_headings():
    text = (
        "Short Treaty\n\n"
        "Article 1\n\n"
        "Each Party may act in self-defence in accordance with\n"
        "Article 51.\n"
        "It shall report to the Council.\n\n"
        "(a) first item;\n"
        "(b) second item.\n\n"
        "Article 2\n\n"
        "Article 1 shall apply mutatis mutandis.\n"
    )
    t = parse_treaty(text)
    assert [a.number for a in t.articles] == [1, 2]
    assert t.articles[0].text == (
        "Each Party may act in self-defence in accordance with Article 51. It shall report to the Council."
        "\n\n(a) first item;\n\n(b) second item."
    )
    assert t.articles[1].text == "Article 1 shall apply mutatis mutandis."


def test_one_line_article_keeps_its_text():
    t = parse_treaty("T\n\nArticle 1\nThis Treaty enters into force today\n\nArticle 2\n\nDone.")
    assert t.articles[0].text == "This Treaty enters into force today" and t.articles[0].title is None


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("", "empty treaty text", None),
        ("  \n\n", "empty treaty text", None),
        ("# source: https://x.org\n\n", "nothing but provenance", None),
        ("Article 1\n\nText.", "no title", 1),
        ("\n# note: n\nA Treaty\n\nJust a preamble.\n", "no 'Article N' headings", 3),
        ("T\n\nArticle 1\n\nOne.\n\nArticle 2\n\nTwo.\n\nArticle II\n\nAgain.", "duplicate article number 2", 11),
    ],
)
def test_errors_name_the_line(text, message, line):
    with pytest.raises(TreatyParseError, match=message) as info:
        parse_treaty(text)
    assert info.value.line == line
    assert isinstance(info.value, ParseError)  # one error root: the loader catches ParseError


def test_roman_to_int():
    assert [roman_to_int(s) for s in ["I", "iv", "IX", "XIV", "XL", "XCIX", "MCMXLIX"]] == [1, 4, 9, 14, 40, 99, 1949]
    assert roman_to_int("IIII") is None and roman_to_int("") is None and roman_to_int("ABC") is None
