"""bot.ingest.references and bot.ingest.names: article references, their quotes, and which treaty they mean."""

import pytest

from bot.ingest.names import TreatyName, find_treaty_mentions, known_treaties, main_treaty, match_treaty
from bot.ingest.references import Reference, find_references, resolve_references

from .helpers import SAMPLE, fixture

RU_DPRK = "Russia–DPRK Treaty on Comprehensive Strategic Partnership"
NATO = "North Atlantic Treaty"
UN = "Charter of the United Nations"

ART4_QUOTE = (
    "if one of the Parties is subjected to an armed attack by any State or several States and thus finds "
    "itself in a state of war, the other Party will immediately provide military and other assistance with "
    "all the means at its disposal."
)


@pytest.fixture(scope="module")
def treaties() -> list[TreatyName]:
    return known_treaties()


def by_name(treaties, name) -> TreatyName:
    return next(t for t in treaties if t.name == name)


def refs(text):
    return [(r.number, r.quote, r.treaty_name) for r in find_references(text)]


def numbers(text):
    return [r.number for r in find_references(text)]


# --------------------------------------------------------------------------- the sample post


@pytest.fixture(scope="module")
def sample() -> str:
    return SAMPLE.read_text(encoding="utf-8")


def test_sample_post_references(sample):
    found = find_references(sample)
    assert [r.number for r in found] == [4, 3]  # "the article written by Putin" is not one
    art4, art3 = found
    assert art4.quote == ART4_QUOTE
    assert art4.treaty_name == "Russia-DPRK strategic partnership treaty"
    assert sample[art4.start :].startswith("Article 4 of the Russia-DPRK")
    assert art3.quote.startswith("In the event of an immediate threat of an act of armed aggression")
    assert art3.quote.endswith("help eliminate the emerging threat.")
    assert art3.treaty_name is None


def test_sample_post_resolves_to_the_russia_dprk_treaty(sample, treaties):
    main = main_treaty(sample, treaties)
    assert main.name == RU_DPRK  # "comprehensive strategic partnership agreement" + the explicit name
    resolved = resolve_references(sample, treaties, main_treaty=main)
    assert [(r.number, r.treaty.name, r.via) for r in resolved] == [(4, RU_DPRK, "name"), (3, RU_DPRK, "nearest")]
    assert resolved[0].quote == ART4_QUOTE
    # Without the catalog's main treaty the nearest-before rule alone still finds it.
    assert [r.treaty.name for r in resolve_references(sample, treaties)] == [RU_DPRK, RU_DPRK]


# --------------------------------------------------------------------------- the Russia–DPRK news quotes


@pytest.fixture(scope="module")
def part_b() -> list[str]:
    text = fixture("treaties", "treaty_russia_dprk_2024.txt").read_text(encoding="utf-8")
    return [line for line in text[text.index("=== Part B") :].splitlines() if line and not line.startswith(("#", "---"))]


def line_with(lines, start):
    return next(line for line in lines if line.startswith(start))


def test_quote_before_the_reference_and_the_un_charter_inside_it(part_b, treaties):
    line = line_with(part_b, '"In the event that one of the parties comes under an armed attack')
    art51, art4 = find_references(line)
    assert (art51.number, art51.treaty_name, art51.quote) == (51, "UN Charter", None)
    assert art4.number == 4 and art4.treaty_name is None  # "of the treaty" names none
    assert art4.quote.startswith("In the event that one of the parties comes under an armed attack")
    assert art4.quote.endswith("in accordance with the laws of North Korea and Russia")  # attribution comma dropped
    r51, r4 = resolve_references(line, treaties, main_treaty=by_name(treaties, RU_DPRK))
    assert (r51.treaty.name, r51.via) == (UN, "name")
    # The UN Charter mention sits inside the quote: it is not "the treaty" of Article 4.
    assert (r4.treaty.name, r4.via) == (RU_DPRK, "main")


def test_ordinal_articles_from_news_reports(part_b):
    first = line_with(part_b, "The two countries also pledged")
    assert refs(first) == [(1, "taking into account the legislation of their states and their international obligations", None)]
    second = line_with(part_b, '"The parties, via dialogue')
    (ref,) = find_references(second)
    assert ref.number == 2 and ref.quote.endswith("strengthen joint coordination and interaction on international platforms")
    third = line_with(part_b, "The third article of the indefinite treaty")
    assert refs(third) == [(3, "immediate threat … practical measures", None)]
    fifth = line_with(part_b, "The fifth article stipulates")
    (ref,) = find_references(fifth)
    assert ref.number == 5 and ref.quote.startswith("undertakes not to enter into agreements with third states")
    assert ref.quote.endswith("as well as not to participate in such activities.")


def test_more_news_report_lines(part_b, treaties):
    four = line_with(part_b, "Article Four of the mutual defense treaty")
    (art4, art51) = find_references(four)
    assert (art4.number, art4.treaty_name) == (4, "mutual defense treaty")
    assert art4.quote.startswith("In case either of the signatories is placed in a state of war")
    assert (art51.number, art51.treaty_name, art51.quote) == (51, "[United Nations] Charter", None)
    r4, r51 = resolve_references(four, treaties)
    # A lowercase description that matches no alias falls back like "the treaty" would.
    assert r4.treaty is None and r4.via == "none"
    assert r51.treaty.name == UN
    assert refs(line_with(part_b, "Article 4 stipulates that if either")) == [(4, None, None)]
    ten = line_with(part_b, "Under Article 10 of the new treaty")
    assert refs(ten)[0][0] == 10 and refs(ten)[0][2] is None  # "the new treaty" is no name
    assert refs(ten)[0][1].startswith("increase the volume of mutual trade")
    assert numbers(line_with(part_b, "Additionally, Article 11")) == [11]


# --------------------------------------------------------------------------- forms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Article 4 applies.", [4]),
        ("ARTICLE 4 applies.", [4]),
        ("under article 4, they consult", [4]),
        ("Article IV of the NPT", [4]),
        ("Art. 4 and art. 6 and Art.7", [4, 6, 7]),
        ("Article Four reads", [4]),
        ("Article twenty-one reads", [21]),
        ("Articles 3 and 4 matter", [3, 4]),
        ("Articles 3, 4, and 8 matter", [3, 4, 8]),
        ("Articles 3-5 matter", [3, 4, 5]),
        ("Articles 3–5 matter", [3, 4, 5]),
        ("Articles 3 to 5 matter", [3, 4, 5]),
        ("Articles I and II of this Treaty", [1, 2]),
        ("Article 5 of the North Atlantic Treaty", [5]),
        ("the treaty's second article says so", [2]),
        ("the third article of the treaty reads", [3]),
        ("The 5th article of the NPT", [5]),
        ("the agreement's first and second articles", [1, 2]),
        ("Article 3 and Article 4", [3, 4]),
        ("NATO's Article 5 was invoked", [5]),
    ],
)
def test_forms(text, expected):
    assert numbers(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "There is also the article written by Putin for North Korea's main newspaper.",
        "The first article I read today was about the pact.",
        "The first article of the series was good.",
        "The Guardian's first article was long.",
        "I wrote an article one day; the article I liked; an article five people read.",
        "Start the party: art, artists and particles.",
        "Article 2024 was a good year.",  # a year, not an article number
        "",
    ],
)
def test_non_references(text):
    assert find_references(text) == []


def test_lists_need_the_plural_and_numbers_are_not_thousands():
    assert numbers("There were 3,000 troops. Article 5 and 3,000 troops.") == [5]
    assert numbers("Article 5 and I think so.") == [5]
    assert numbers("Articles 3 and I think so.") == [3]


def test_start_offsets():
    text = "Intro. Articles 3 and 4 apply; see also the treaty's fifth article."
    assert [(r.number, r.start) for r in find_references(text)] == [(3, 7), (4, 7), (5, text.index("fifth"))]


# --------------------------------------------------------------------------- quotes


def test_odd_spacing_before_the_quote():
    text = 'Article 4 of the Russia-DPRK strategic partnership treaty states that“if one of the Parties is attacked.” However, fine.'
    assert refs(text) == [(4, "if one of the Parties is attacked.", "Russia-DPRK strategic partnership treaty")]
    assert refs('Article 3 says"x   y\n z."Then.') == [(3, "x y z.", None)]


def test_quote_in_another_sentence_is_not_attached():
    assert refs('Article 4 is short. The minister said "we will help."') == [(4, None, None)]
    assert refs('"We will help." Article 4 is short.') == [(4, None, None)]


def test_each_reference_gets_its_own_quote():
    assert refs('Article 4 says "x," Article 5 adds "y."') == [(4, "x", None), (5, "y.", None)]
    assert refs('Article 4 says "a," and "b," Article 5 adds.') == [(4, "a", None), (5, "b", None)]


def test_a_quote_for_a_list_is_not_duplicated():
    text = 'Articles 3 and 4 of the treaty state that "the parties shall consult."'
    assert refs(text) == [(3, None, None), (4, None, None)]


def test_reference_inside_a_quote_does_not_steal_it():
    text = 'Article 5 of the NATO treaty says "each Party, under Article 51 of the UN Charter, will assist."'
    assert refs(text) == [
        (5, "each Party, under Article 51 of the UN Charter, will assist.", "NATO treaty"),
        (51, None, "UN Charter"),
    ]


def test_abbreviations_do_not_end_the_sentence():
    assert refs('Under Art. 4, Mr. Lee of the U.S. delegation said "consult."') == [(4, "consult.", None)]
    assert refs('Art. 4 is short. No. 5 said "consult."') == [(4, None, None)]


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Article 5 of the North Atlantic Treaty is clear.", "North Atlantic Treaty"),
        ("Article 5 of NATO is clear.", "NATO"),
        ("Article 51 of the U.N. Charter allows it.", "U.N. Charter"),
        ("Article 6 of the NPT. More.", "NPT"),
        ("the North Atlantic Treaty's Article 5 matters", "North Atlantic Treaty"),
        ("Article 4 of the Treaty on the Non-Proliferation of Nuclear Weapons says", "Treaty on the Non-Proliferation of Nuclear Weapons"),
        ("Article 4 of the treaty read.", None),
        ("Article 4 of this Treaty shall apply.", None),
        ("Article 10 of the new treaty says", None),
        ("the agreement's first article read", None),
        ("Article 3 of the two countries' deal", None),
    ],
)
def test_treaty_names_as_written(text, name):
    assert find_references(text)[0].treaty_name == name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("NATO", NATO),
        ("Nato", NATO),
        ("the NATO treaty", NATO),
        ("Washington Treaty", NATO),
        ("Nort Atlantc Treaty", NATO),  # typos
        ("Russia-DPRK strategic partnership treaty", RU_DPRK),
        ("Russia–DPRK strategic partnership treaty", RU_DPRK),
        ("DPRK-Russia agreement", RU_DPRK),  # agreement/pact/accord count as "treaty"
        ("Russian-DPRK strategic partnershp treaty", RU_DPRK),
        ("comprehensive strategic partnership treaty", RU_DPRK),
        ("DPRK–Russia Treaty on Comprehensive Strategic Partnership between the DPRK and the Russian Federation", RU_DPRK),
        ("Pyongyang treaty", RU_DPRK),
        ("NPT", "Treaty on the Non-Proliferation of Nuclear Weapons"),
        ("Non-Proliferation Treaty", "Treaty on the Non-Proliferation of Nuclear Weapons"),
        ("UN Charter", UN),
        ("[United Nations] Charter", UN),
        ("1949 North Atlantic Treaty", NATO),
        ("Treaty of Lisbon", None),
        ("NATO–Russia Founding Act", None),  # contains a known name, but is another document
        ("the North Atlantic Treaty of 4 April 1949", NATO),
        ("the treaty", None),
        ("agreement", None),
        ("", None),
    ],
)
def test_match_treaty(treaties, name, expected):
    got = match_treaty(name, treaties)
    assert (got.name if got else None) == expected


def test_match_treaty_cutoff(treaties):
    assert match_treaty("Nort Atlantc Treaty", treaties, cutoff=99) is None


def test_catalog(treaties):
    names = {t.name: t for t in treaties}
    assert {RU_DPRK, NATO, UN, "Treaty on the Non-Proliferation of Nuclear Weapons"} <= set(names)
    assert {"Russia-DPRK treaty", "DPRK-Russia treaty", "Russia-DPRK strategic partnership treaty",
            "comprehensive strategic partnership treaty", "Russia–North Korea treaty", "Pyongyang treaty"} <= set(names[RU_DPRK].aliases)
    assert {"NATO", "NATO treaty", "Washington Treaty"} <= set(names[NATO].aliases)
    assert {"UN Charter", "United Nations Charter"} <= set(names[UN].aliases)
    assert known_treaties() is not known_treaties()  # callers may change their copy


def test_find_treaty_mentions(treaties):
    text = (
        "NATO and the Russia–DPRK treaty differ. The North Atlantic Treaty (not the Nato summit) "
        "and the npt; the NPT and senators; the United Nations Charter."
    )
    got = [(text[pos : pos + 12], t.name) for pos, t in find_treaty_mentions(text, treaties)]
    assert got == [
        ("NATO and the", NATO),
        ("Russia–DPRK ", RU_DPRK),
        ("North Atlant", NATO),
        ("Nato summit)", NATO),
        ("NPT and sena", "Treaty on the Non-Proliferation of Nuclear Weapons"),  # "npt" is no acronym
        ("United Natio", UN),
    ]
    assert find_treaty_mentions("", treaties) == []
    assert find_treaty_mentions("NATO", []) == []


def test_custom_treaties_from_the_store():
    mine = [TreatyName("Treaty of Tests", ("Test Pact",))]
    assert [t.name for _, t in find_treaty_mentions("the test pact and the Treaty of Tests", mine)] == ["Treaty of Tests"] * 2
    (r,) = resolve_references("Article 2 of the Test Pact", mine)
    assert r.treaty == mine[0] and r.via == "name"


# --------------------------------------------------------------------------- resolution


def test_nearest_treaty_before_then_main(treaties):
    text = (
        "NATO met today. Article 5 was discussed. Then the Russia-DPRK treaty came up: "
        "Article 4 of the treaty and Article 3. Article 51 of the UN Charter too."
    )
    got = [(r.number, r.treaty.name, r.via) for r in resolve_references(text, treaties)]
    assert got == [(5, NATO, "nearest"), (4, RU_DPRK, "nearest"), (3, RU_DPRK, "nearest"), (51, UN, "name")]
    main = by_name(treaties, NATO)
    (r,) = resolve_references("Article 5 is the core.", treaties, main_treaty=main)
    assert (r.treaty, r.via) == (main, "main")
    (r,) = resolve_references("Article 5 is the core.", treaties)
    assert (r.treaty, r.via) == (None, "none")


def test_unknown_specific_name_is_not_guessed(treaties):
    (r,) = resolve_references("NATO again. Article 50 of the Treaty of Lisbon.", treaties, main_treaty=treaties[0])
    assert (r.treaty, r.treaty_name, r.via) == (None, "Treaty of Lisbon", "none")


def test_explicit_name_beats_nearest(treaties):
    text = "The Russia-DPRK treaty is new. Article 5 of the Washington Treaty is old."
    (r,) = resolve_references(text, treaties)
    assert (r.treaty.name, r.via) == (NATO, "name")


def test_resolve_without_references_is_cheap_and_empty(treaties):
    assert resolve_references("No references at all, just NATO.", treaties) == []


def test_reference_dataclass_is_frozen():
    r = Reference(number=1, quote=None, treaty_name=None, start=0)
    with pytest.raises(AttributeError):
        r.number = 2  # type: ignore[misc]

