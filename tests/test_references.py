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
    r51, r4 = resolve_references(line, treaties, main_treaty=by_name(treaties, NATO))
    assert (r51.treaty.name, r51.via) == (UN, "name")
    # The UN Charter mention sits inside the quote: it is not "the treaty" of Article 4. The
    # parties the quote names (North Korea and Russia) are: the text alone says which treaty.
    assert (r4.treaty.name, r4.via) == (RU_DPRK, "nearest")
    (r4,) = resolve_references(line.replace("North Korea and Russia", "both parties"), treaties,
                               main_treaty=by_name(treaties, RU_DPRK))[1:]
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
    # A lowercase description that matches no alias falls back like "the treaty" would: here to
    # the formal name that follows it ("formally the DPRK-Russia Treaty on …").
    assert (r4.treaty.name, r4.via) == (RU_DPRK, "nearest")
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
    # (two-word quotes: a single quoted word is a term or a nickname, never an article's wording)
    assert refs('Article 4 says "x one," Article 5 adds "y two."') == [(4, "x one", None), (5, "y two.", None)]
    assert refs('Article 4 says "a one," and "b two," Article 5 adds.') == [(4, "a one", None), (5, "b two", None)]
    assert refs('Article 3 provides that warships enjoy passage when Turkey is not “belligerent”.') == [(3, None, None)]


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
    assert refs('Under Art. 4, as amended by Mr. Lee of the U.S. delegation, parties must "consult each other."') == [
        (4, "consult each other.", None)
    ]
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
        ("Treaty of Lisbon", "Treaty on European Union"),  # its articles 42(7) and 50 are the TEU's
        ("Treaty of Tordesillas", None),
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


def test_unknown_specific_name_is_its_own_treaty_not_a_guess(treaties):
    (r,) = resolve_references("NATO again. Article 50 of the Treaty of Tordesillas.", treaties, main_treaty=treaties[0])
    assert (r.treaty, r.treaty_name, r.via) == (TreatyName("Treaty of Tordesillas"), "Treaty of Tordesillas", "name")


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



# --------------------------------------------------------------------------- issue 14: forms, paragraphs, spans


def spans(text):
    return [(r.number, r.paragraph, text[r.start : r.end]) for r in find_references(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NATO allies invoked Art. 5 after 9/11.", [(5, None, "Art. 5")]),
        ("Article V of the treaty is the heart of NATO.", [(5, None, "Article V")]),
        ("Under article iv of the treaty, each party consults.", [(4, None, "article iv")]),
        ("Article Five is what the summit was about.", [(5, None, "Article Five")]),
        ("Russia invoked Articles 41 and 42 of the Charter.", [(41, None, "Articles 41 and 42"), (42, None, "Articles 41 and 42")]),
        ("Articles 41-42 give the Council its teeth.", [(41, None, "Articles 41-42"), (42, None, "Articles 41-42")]),
        ("Articles 41–42 give the Council its teeth.", [(41, None, "Articles 41–42"), (42, None, "Articles 41–42")]),
        ("It violates Article 2(4) of the UN Charter.", [(2, "4", "Article 2(4)")]),
        ("France invoked Article 42.7 of the EU treaty.", [(42, "7", "Article 42.7")]),
        ("the crime defined in Article 8 bis of the Rome Statute", [(8, "bis", "Article 8 bis")]),
        ("the interests listed in Article 10 (2) ECHR", [(10, "2", "Article 10 (2)")]),
        ("Russia relied on Article XXI(b)(iii) of the GATT.", [(21, "b(iii)", "Article XXI(b)(iii)")]),
        ("Article 15, paragraph 1, says the treaty is of unlimited duration.", [(15, "1", "Article 15, paragraph 1")]),
        ("(Source: Paris Agreement Art. 2a)", [(2, "a", "Art. 2a")]),
    ],
)
def test_forms_with_paragraphs_and_spans(text, expected):
    assert spans(text) == expected


def test_suffixed_lists():
    text = "Articles 8 bis, 15 bis and 15 ter are novelties in the Rome Statute."
    assert [(r.number, r.paragraph) for r in find_references(text)] == [(8, "bis"), (15, "bis"), (15, "ter")]


def test_the_fifth_article_needs_a_treaty():
    assert numbers("the fifth article of the North Atlantic Treaty") == [5]
    assert numbers("The fifth article I wrote this year was about NATO.") == []
    assert numbers("I read article iv of a magazine and article i of another.") == []


def test_resolved_references_carry_paragraph_and_end(treaties):
    text = "Russia's invasion violates Article 2(4) of the U.N. Charter."
    (r,) = resolve_references(text, treaties)
    assert (r.number, r.paragraph, r.treaty.name, text[r.start : r.end]) == (2, "4", UN, "Article 2(4)")


# --------------------------------------------------------------------------- issue 14: quotes


@pytest.mark.parametrize(
    "text",
    [
        "Article 5 of the North Atlantic Treaty states that “an armed attack against one shall be considered an attack against them all.”",
        'Article 5 of the North Atlantic Treaty reads: "an armed attack against one shall be considered an attack against them all."',
        "Article 5 of the North Atlantic Treaty provides that 'an armed attack against one shall be considered an attack against them all.'",
        "Article 5 of the North Atlantic Treaty says: ‘an armed attack against one shall be considered an attack against them all.’",
        "Article 5 of the North Atlantic Treaty says: «an armed attack against one shall be considered an attack against them all.»",
        "Article 5 of the North Atlantic Treaty, which reads,\n\nan armed attack against one shall be considered an attack against them all.\n\nIt was invoked once.",
        "The allies cited Article 5 of the North Atlantic Treaty. It states:\nan armed attack against one shall be considered an attack against them all.\nThe rest is politics.",
        "Article\n5\nof\nthe\nNorth\nAtlantic\nTreaty\nstates\nthat\n“an\narmed\nattack\nagainst\none\nshall\nbe\nconsidered\nan\nattack\nagainst\nthem\nall.”",
    ],
)
def test_quote_forms(text):
    (ref,) = find_references(text)
    assert (ref.number, ref.treaty_name) == (5, "North Atlantic Treaty")
    assert ref.quote.strip(".") == "an armed attack against one shall be considered an attack against them all"


def test_quotes_outside_the_sentence():
    text = 'Article 4 is the core of the pact. It states that each party shall "come to the assistance of the state attacked."'
    assert refs(text)[0][1] == "come to the assistance of the state attacked."
    text = "Article 50 of the Lisbon treaty sets out how to leave. “Any member state may decide to withdraw,” the article says."
    assert refs(text)[0][1] == "Any member state may decide to withdraw"
    text = "The goal is to “hold the increase in temperature well below 2˚C” (Article 2(a))."
    assert refs(text)[0][1] == "hold the increase in temperature well below 2˚C"
    text = "Article 51 is the legal basis for collective defence.\n“Nothing in the present Charter shall impair the inherent right of self-defence.”"
    assert refs(text)[0][1] == "Nothing in the present Charter shall impair the inherent right of self-defence."


@pytest.mark.parametrize(
    "text",
    [
        'Trump cast doubt on NATO\'s Article 5, saying, "There are numerous definitions of Article 5."',
        '“I’m committing the United States to Article 5,” Mr. Trump said.',
        "Obama stated that “our commitment is absolute,” and that Article 5 “covers all territories under Japan’s administration.”",
        'Article 42.7 of the Lisbon Treaty "provides that all member states must help," the president said on Monday.',
        "It is known as \"Common Article 3\" of the Geneva Conventions.",
        "the WTO's so-called “national security exception” under Article XXI of the GATT",
        "Article 2(4) of the United Nations (“U.N.”) Charter is the cornerstone.",
    ],
)
def test_a_speakers_words_or_a_nickname_is_not_the_wording(text):
    assert all(r.quote is None for r in find_references(text))


def test_a_block_that_names_the_treaty_again_is_no_quote():
    text = "Article 3 of the UN Charter provides:\nAs stated in Article 93 of the UN Charter, all members are parties to the statute."
    assert [r.quote for r in find_references(text)] == [None, None]


# --------------------------------------------------------------------------- issue 14: open world, merging


def names_of(text, treaties):
    return [(r.number, r.treaty.name if r.treaty else None) for r in resolve_references(text, treaties)]


def test_an_unknown_treaty_is_known_by_its_name_as_written(treaties):
    text = "Article 7 of the Harbour Cooperation Agreement says: “The ports shall remain open.” Article 8 says ships may dock."
    got = resolve_references(text, treaties)
    assert [(r.number, r.treaty, r.via) for r in got] == [
        (7, TreatyName("Harbour Cooperation Agreement"), "name"),
        (8, TreatyName("Harbour Cooperation Agreement"), "nearest"),
    ]
    assert got[0].quote == "The ports shall remain open."


def test_an_acronym_in_brackets_becomes_an_alias(treaties):
    text = "The Harbour Cooperation Agreement (HCA) was signed in 2020. Article 3 of the HCA covers pilots."
    (r,) = resolve_references(text, treaties)
    assert r.treaty == TreatyName("Harbour Cooperation Agreement", ("HCA",))
    text = "Manila wants the Mutual Defense Treaty (MDT) with Washington applied. Article IV of the MDT covers the Philippines' vessels."
    assert names_of(text, treaties) == [(4, "Mutual Defense Treaty between the United States and the Philippines")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bordyuzha was quoting the CSTO treaty's Article 4.", "Collective Security Treaty"),
        ("Trump did not endorse Article 5 of the NATO charter.", NATO),
        ("“Any attack on Philippine vessels will trigger Article 4 of our Mutual Defense Treaty,” Pompeo told Manila.",
         "Mutual Defense Treaty between the United States and the Philippines"),
        ("Seoul asked whether Article 3 of the Mutual Defense Treaty covers South Korean islands.",
         "Mutual Defense Treaty between the United States and the Republic of Korea"),
        ("Article 22 of the Vienna Convention on Diplomatic Relations protects embassies.", "Vienna Convention on Diplomatic Relations"),
        ("Common Article 3 of the Geneva Conventions applies.", "Geneva Conventions"),
        ("The court held that Common Article 3 applies to the conflict.", "Geneva Conventions"),
        ("the UN Charter's Article 51 allows self-defence", UN),
        ("Article 4 of the 1972 Anti-Ballistic Missile (ABM) Treaty", "Anti-Ballistic Missile Treaty"),
        ("Article 50 of the Treaty of Lisbon", "Treaty on European Union"),
    ],
)
def test_names_merge_with_known_treaties_without_false_merges(treaties, text, expected):
    assert names_of(text, treaties)[0][1] == expected


def test_a_name_never_falls_back_to_an_unrelated_treaty(treaties):
    text = "NATO met. Article 4 of the Treaty of Tordesillas divided the world."
    assert names_of(text, treaties) == [(4, "Treaty of Tordesillas")]
    text = "Article 4 of the Mutual Defense Treaty applies, the minister said."  # which one? the text does not say
    assert names_of(text, treaties) == [(4, None)]


def test_a_treaty_named_earlier_resolves_later_bare_references(treaties):
    text = (
        "The Warsaw Pact is written in the language of defense pacts. It alludes to NATO in passing.\n"
        "In Article 1, the signatories agree to abide by the United Nations Charter. Article 2 emphasizes peace."
    )
    assert names_of(text, treaties) == [(1, "Warsaw Pact"), (2, "Warsaw Pact")]


# --------------------------------------------------------------------------- issue 14: not treaty articles


@pytest.mark.parametrize(
    "text",
    [
        "Article II of the US Constitution gives the president executive power.",
        "The Constitution of the United States does have an Article II. Article II spells out the oath.",
        "Parliament nullified Article 370 of the Constitution. Article 370 had given Kashmir its status.",
        "Articles 370 and 35(A) were nullified. Article 370 of the Constitution of India was temporary.",
        "Congress may declare war under Article I, Section 8 of the Constitution.",
        "The House acted under Article I, sec. 2, cl. 5, which gives it “the sole Power of impeachment.”",
        "You may have heard about Article 15 of the Uniform Code of Military Justice (“UCMJ”).",
        "Non-judicial punishment is authorized by the UCMJ, which is an article 15 for minor offenses.",
        "In my service I have witnessed Article 15s for many circumstances.",
        "(2) PRIVACY INTERNATIONAL (3) ARTICLE 19 (4) COMMITTEE TO PROTECT JOURNALISTS",
        "The free-speech group Article 19 said the law was vague.",
        "By-Laws Articles IV-VI\n\nARTICLE IV: Fees and Dues\n\nAnnual dues shall be $20.",
        "Congress approved Article 104 under the Articles of War.",
        "Article 3 of the Jammu and Kashmir charter declared the state part of India, unlike the Jammu and Kashmir constitution's preamble.",
    ],
)
def test_constitutions_codes_and_names_are_not_treaty_articles(treaties, text):
    assert resolve_references(text, treaties) == []


@pytest.mark.parametrize(
    "text",
    [
        "There was an article in the Times about NATO.",
        "The treaty has 25 articles and two annexes.",
        "The New START Treaty consists of sixteen articles and a Protocol.",
        "There is also the article written by Putin for Rodong Sinmun.",
        "This article originally appeared on Newsday. NATO remains important.",
        "1. Basics. 2. Choices. (a) accept (b) refuse",
    ],
)
def test_newspaper_articles_counts_and_list_items_are_no_references(treaties, text):
    assert find_references(text) == []
    assert resolve_references(text, treaties) == []


def test_threads_meeting_new_treaty_names_at_once_build_their_index_once(monkeypatch):
    """A burst of thread messages reaches the reference finder on several worker threads at once:
    each building the same index (under the GIL, beside the event loop) cost the capture benchmark
    a tenth of its throughput."""
    import threading
    import time

    import bot.ingest.mentions as mentions

    built = []
    real = mentions._build_index

    def build(names):
        built.append(names)
        time.sleep(0.05)  # long enough for the other threads to arrive meanwhile
        return real(names)

    monkeypatch.setattr(mentions, "_build_index", build)
    names = (*known_treaties(), TreatyName("Treaty of the Burst", ("Burst Pact",)))
    start = threading.Barrier(8)
    found = []

    def find():
        start.wait()
        found.append(find_treaty_mentions("Under the Burst Pact and NATO's charter.", names))

    workers = [threading.Thread(target=find) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(built) == 1
    assert len(found) == 8 and all(f == found[0] for f in found) and found[0]
