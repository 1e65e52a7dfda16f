"""Scenario: the reference finder against a labeled set of real passages (bench/references/).

Every passage of `bench/references/passages.jsonl` (real news, blog, encyclopedia, forum and
official text, labeled by hand: see bench/references/README.md) goes through the finder once;
its references are compared with the labels:

- (treaty, article number) pairs, per passage, as sets: precision, recall, F1, micro-averaged
  over the whole set. Treaty names are compared after `canonical()` (NFKC, casefold, dashes and
  whitespace folded, punctuation dropped, a leading "the" dropped) and the alias map ALIASES
  below. A prediction whose treaty is unresolved (None) matches only a label whose treaty is
  null. Target F1 >= 0.90.
- quote recall: a labeled quote is captured when some predicted reference in the same passage
  with the same article number (treaty not required) has a quote that matches it:
  equal after whitespace normalisation and trimming of outer punctuation/quote marks, or one
  contains the other and the shorter is at least 90% as long as the longer. The finder joins
  several quotes of one reference with " … "; each joined part is also tried on its own.
  Target >= 0.85.
- non-treaty false positives: predicted references whose span - [start, end) when the result
  has `.end`, else [start, start + 30) - overlaps an occurrence (case-insensitive) of one of
  the passage's `non_treaty` strings (constitutions, military law, "an article in ...",
  counts, by-laws). Target 0.
- throughput: the finder over every passage, copied until the text adds up to ~2 MB (UTF-8),
  one call per passage as at load; median of 3 timed runs after a warm-up, on one core. Each
  copy gets a distinct suffix so the finder's per-text memo cannot answer a repeat from cache.
  Target >= 1 MB/s.
Informational rows (no target): F1 on article numbers alone (treaty ignored), F1 when an
unresolved reference's treaty is taken from its name as written (through ALIASES), and quote
precision (predicted quotes that match a labeled quote of the same article in the passage).

`python -m bench.scenarios.references [--misses] [--only ID ...]` prints the rows and, with
--misses, each passage's false positives, false negatives, missed and wrong quotes, and
non-treaty hits. Register in bench/scenarios/__init__.py with one entry calling `run`.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bench.framework import Context, Row, console, not_available

SCENARIO = "references"
DATA = Path(__file__).resolve().parent.parent / "references" / "passages.jsonl"

TARGET_F1 = 0.90
TARGET_QUOTE_RECALL = 0.85
TARGET_MBPS = 1.0
THROUGHPUT_BYTES = 2_000_000
SPAN_FALLBACK = 30  # characters from .start when a result has no .end
MIN_OVERLAP = 0.90  # shorter/longer length for a containment match of quotes
JOINER = " … "  # how the finder joins several quotes of one reference


# --------------------------------------------------------------------------- the finder (adapter)


@dataclass(frozen=True)
class Found:
    """One reference as the bench sees it, whatever the finder's own result type."""

    number: int
    quote: str | None
    treaty: str | None  # the resolved treaty's name, None when unresolved
    treaty_written: str | None  # the name as written in the text, if any
    start: int
    end: int


def load_finder() -> tuple[Callable[[str], list[Found]], str, frozenset[str]]:
    """The ONE place the bench calls the finder: (find(text) -> [Found], where, catalog names).

    The code path `postbot references` prints: bot.services.treaties.find_references.
    """
    from bot.ingest.names import known_treaties
    from bot.services.treaties import find_references

    treaties = known_treaties()

    def find(text: str) -> list[Found]:
        return [
            Found(
                number=int(r.number),
                quote=r.quote,
                treaty=r.treaty,
                treaty_written=r.written,
                start=r.start,
                end=r.end if r.end is not None and r.end >= 0 else r.start + SPAN_FALLBACK,
            )
            for r in find_references(text, treaties)
        ]

    return find, "bot.services.treaties.find_references", frozenset(t.name for t in treaties)


# --------------------------------------------------------------------------- treaty names

# Canonical vocabulary (bench/references/README.md) -> aliases. Labels use the canonical names
# only; the aliases cover the finder's catalog names (bot/treaties.toml) and names as written.
ALIASES: dict[str, tuple[str, ...]] = {
    "North Atlantic Treaty": ("NATO", "NATO treaty", "NATO Treaty", "Washington Treaty", "NATO founding treaty", "NATO charter",
                              "North Atlantic Treaty Organization", "North Atlantic Treaty Organisation",
                              "North Atlantic Treaty Organization (NATO) agreement", "1949 North Atlantic Treaty"),
    "Charter of the United Nations": ("UN Charter", "U.N. Charter", "United Nations Charter", "Charter of the UN",
                                      "United Nations (“U.N.”) Charter", "Charter"),
    "Treaty on European Union": ("TEU", "EU treaty", "Maastricht Treaty", "Treaty on the European Union",
                                 "Treaty of the European Union", "Lisbon Treaty", "Treaty of Lisbon"),
    "Treaty on the Functioning of the European Union": ("TFEU", "Treaty on the Functioning of the EU"),
    "Rome Statute of the International Criminal Court": ("Rome Statute", "ICC Statute", "Statute of the International Criminal Court"),
    "Geneva Conventions": ("Geneva", "Geneva Convention", "Geneva Conventions of 1949", "four Geneva Conventions"),
    "Vienna Convention on Diplomatic Relations": ("VCDR", "Convention on Diplomatic Relations",
                                                  "Vienna Convention on Diplomatic Relations of 1961",
                                                  "Vienna Convention on Diplomatic Relations 1961"),
    "Treaty on the Non-Proliferation of Nuclear Weapons": ("NPT", "Non-Proliferation Treaty", "Nuclear Non-Proliferation Treaty",
                                                           "Nonproliferation Treaty"),
    "Russia–DPRK Treaty on Comprehensive Strategic Partnership": (
        "Russia-DPRK treaty", "DPRK-Russia treaty", "Russia-DPRK strategic partnership treaty",
        "DPRK-Russia strategic partnership treaty", "comprehensive strategic partnership treaty",
        "Treaty on Comprehensive Strategic Partnership", "DPRK–Russia Treaty on Comprehensive Strategic Partnership",
        "Russia–North Korea treaty", "North Korea–Russia treaty", "Russia-North Korea defense pact", "Pyongyang treaty",
        "Treaty on Comprehensive Strategic Partnership between the DPRK and the Russian Federation"),
    "Outer Space Treaty": ("Treaty on Principles Governing the Activities of States in the Exploration and Use of Outer Space, "
                           "including the Moon and Other Celestial Bodies", "OST"),
    "Genocide Convention": ("Convention on the Prevention and Punishment of the Crime of Genocide",),
    "European Convention on Human Rights": ("ECHR", "Convention for the Protection of Human Rights and Fundamental Freedoms",
                                            "European Convention for the Protection of Human Rights and Fundamental Freedoms"),
    "ANZUS Treaty": ("ANZUS", "Australia, New Zealand, United States (ANZUS) Treaty",
                     "Security Treaty between Australia, New Zealand, and the United States of America"),
    "Treaty of Mutual Cooperation and Security between the United States and Japan": (
        "US-Japan Security Treaty", "Japan-US Security Treaty", "U.S.-Japan Security Treaty", "US-Japan security treaty",
        "U.S.-Japan Treaty", "U.S.-Japan Treaty of Mutual Cooperation and Security", "Treaty of Mutual Cooperation and Security",
        "United States-Japan Mutual Defense Treaty", "Japan-U.S. Security Treaty"),
    "Mutual Defense Treaty between the United States and the Philippines": (
        "MDT", "US-Philippines Mutual Defense Treaty", "U.S.-Philippines Mutual Defense Treaty", "U.S.-Philippine Mutual Defense Treaty",
        "Philippines-US Mutual Defense Treaty", "PH-US Mutual Defense Treaty", "US-PHL Mutual Defense Treaty",
        "1951 US-PHL Mutual Defense Treaty", "Mutual Defense Treaty Between the Republic of the Philippines and the United States of America"),
    "Mutual Defense Treaty between the United States and the Republic of Korea": (
        "US–South Korea Mutual Defense Treaty", "South Korea–US Mutual Defense Treaty"),
    "Sino-North Korean Mutual Aid and Cooperation Friendship Treaty": (
        "China-DPRK treaty", "China–North Korea treaty", "North Korea–China treaty"),
    "Warsaw Pact": ("Warsaw Treaty", "Treaty of Friendship, Co-operation and Mutual Assistance",
                    "Treaty of Friendship, Cooperation and Mutual Assistance"),
    "Minsk agreements": ("Minsk agreement", "Minsk-2", "Minsk II", "Minsk Protocol", "Minsk-1",
                         "Package of Measures for the Implementation of the Minsk Agreements"),
    "Intermediate-Range Nuclear Forces Treaty": ("INF Treaty", "INF", "Intermediate-Range Nuclear Forces (INF) Treaty"),
    "New START": ("New START Treaty", "Treaty on Measures for the Further Reduction and Limitation of Strategic Offensive Arms"),
    "Paris Agreement": ("Paris climate agreement", "Paris Accord"),
    "General Agreement on Tariffs and Trade": ("GATT", "GATT 1994", "GATT 1947", "General Agreement on Tariffs and Trade (GATT)"),
    "Collective Security Treaty": ("CST", "CSTO treaty", "CSTO Collective Security Treaty", "Tashkent Treaty",
                                   "Collective Security Treaty (CST)", "Treaty on Collective Security"),
    "Anti-Ballistic Missile Treaty": ("ABM Treaty", "ABM treaty", "1972 Anti-Ballistic Missile (ABM) Treaty"),
    "Covenant of the League of Nations": ("League of Nations Covenant", "Covenant"),
    "Montreux Convention Regarding the Regime of the Straits": (
        "Montreux Convention", "1936 Montreux Convention Regarding the Regime of the Straits", "Montreux Straits Convention",
        "Convention Regarding the Regime of the Straits"),
    "Convention Relating to the Status of Refugees": (
        "Refugee Convention", "1951 Refugee Convention", "1951 Convention", "Convention relating to the Status of Refugees",
        "1951 Convention relating to the Status of Refugees", "United Nations Convention Relating to the Status of Refugees",
        "1951 United Nations Convention Relating to the Status of Refugees"),
    "Convention on the International Status of Refugees": ("1933 Convention on the International Status of Refugees",),
}

_DASHES = re.compile(r"[\u2010-\u2015\u2212\-/]+")
_PUNCT = re.compile(r"[^\w\s]+")
_PAREN_ACRONYM = re.compile(r"\s*\((?:[^()]{1,12})\)")


def _key(name: str) -> str:
    s = unicodedata.normalize("NFKC", name).casefold().replace("’", "'")
    s = _DASHES.sub(" ", s)
    s = s.replace("'s ", " ").removesuffix("'s")
    s = _PUNCT.sub(lambda m: "" if set(m.group()) <= {".", "'"} else " ", s)
    words = s.split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


_CANON: dict[str, str] = {}
for _canonical, _aliases in ALIASES.items():
    for _alias in (_canonical, *_aliases):
        _CANON.setdefault(_key(_alias), _canonical)


def canonical(name: str | None) -> str | None:
    """The vocabulary's name for a treaty name (None stays None; unknown names stay distinct)."""
    if name is None:
        return None
    key = _key(name)
    if key in _CANON:
        return _CANON[key]
    bare = _key(_PAREN_ACRONYM.sub("", name))  # "Collective Security Treaty (CST)"
    return _CANON.get(bare, f"?{key}")


# --------------------------------------------------------------------------- the labeled set


@dataclass(frozen=True)
class Label:
    treaty: str | None
    number: int
    quote: str | None


@dataclass(frozen=True)
class Passage:
    id: str
    source: str
    text: str
    references: tuple[Label, ...]
    non_treaty: tuple[str, ...]
    exercises: str = ""


def _ws(s: str) -> str:
    return " ".join(s.split())


def load_passages(path: Path = DATA) -> list[Passage]:
    """The labeled set, checked: ids unique, treaties in the vocabulary, quotes and traps in the text."""
    passages, seen = [], set()
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        rec = json.loads(line)
        where = f"{path.name}:{line_no} ({rec.get('id')})"
        if rec["id"] in seen:
            raise ValueError(f"{where}: duplicate id")
        seen.add(rec["id"])
        text = rec["text"]
        labels = []
        for ref in rec["references"]:
            treaty = ref["treaty"]
            if treaty is not None and treaty not in ALIASES:
                raise ValueError(f"{where}: treaty {treaty!r} is not in the vocabulary (ALIASES)")
            if ref["quote"] is not None and _ws(ref["quote"]) not in _ws(text):
                raise ValueError(f"{where}: quote is not in the text: {ref['quote'][:60]!r}")
            labels.append(Label(treaty, int(ref["number"]), ref["quote"]))
        for trap in rec.get("non_treaty", []):
            if trap.casefold() not in text.casefold():
                raise ValueError(f"{where}: non_treaty string is not in the text: {trap!r}")
        passages.append(Passage(rec["id"], rec["source"], text, tuple(labels), tuple(rec.get("non_treaty", [])),
                                rec.get("exercises", "")))
    return passages


# --------------------------------------------------------------------------- scoring

_TRIM = " \t\r\n.,;:!?\"'“”‘’«»„‟…"


def _qnorm(s: str) -> str:
    return _ws(s).strip(_TRIM)


def quote_matches(predicted: str | None, label: str) -> bool:
    """The rule for quote recall (module doc): equal, or containment covering >= 90% of the longer."""
    if not predicted:
        return False
    want = _qnorm(label)
    for part in dict.fromkeys([predicted, *predicted.split(JOINER)]):
        got = _qnorm(part)
        if not got or not want:
            continue
        if got == want:
            return True
        short, long_ = sorted((got, want), key=len)
        if short in long_ and len(short) >= MIN_OVERLAP * len(long_):
            return True
    return False


Pair = tuple[str | None, int]


@dataclass
class PassageResult:
    passage: Passage
    found: list[Found]
    gold: set[Pair]
    predicted: set[Pair]
    missed_quotes: list[Label] = field(default_factory=list)
    captured_quotes: list[Label] = field(default_factory=list)
    wrong_quotes: list[Found] = field(default_factory=list)  # predicted quotes matching no label quote
    right_quotes: int = 0
    trap_hits: list[tuple[Found, str]] = field(default_factory=list)

    @property
    def false_positives(self) -> set[Pair]:
        return self.predicted - self.gold

    @property
    def false_negatives(self) -> set[Pair]:
        return self.gold - self.predicted


def _trap_spans(p: Passage) -> list[tuple[int, int, str]]:
    spans, low = [], p.text.casefold()
    for trap in p.non_treaty:
        t, at = trap.casefold(), low.find(trap.casefold())
        while at >= 0:
            spans.append((at, at + len(t), trap))
            at = low.find(t, at + 1)
    return spans


def score_passage(p: Passage, found: list[Found]) -> PassageResult:
    gold = {(lab.treaty, lab.number) for lab in p.references}
    predicted = {(canonical(f.treaty), f.number) for f in found}
    res = PassageResult(p, found, gold, predicted)
    for lab in p.references:
        if lab.quote is None:
            continue
        if any(f.number == lab.number and quote_matches(f.quote, lab.quote) for f in found):
            res.captured_quotes.append(lab)
        else:
            res.missed_quotes.append(lab)
    seen_quotes = set()
    for f in found:
        if not f.quote or (f.number, f.quote) in seen_quotes:
            continue
        seen_quotes.add((f.number, f.quote))
        if any(lab.number == f.number and lab.quote and quote_matches(f.quote, lab.quote) for lab in p.references):
            res.right_quotes += 1
        else:
            res.wrong_quotes.append(f)
    traps = _trap_spans(p)
    for f in found:
        # the trap the reference starts in, else any trap its span overlaps
        hit = next((trap for s, e, trap in traps if s <= f.start < e), None) or next(
            (trap for s, e, trap in traps if f.start < e and s < f.end), None)
        if hit is not None:
            res.trap_hits.append((f, hit))
    return res


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _pair_counts(results: list[PassageResult], key: Callable[[PassageResult], tuple[set, set]]) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for r in results:
        gold, pred = key(r)
        tp += len(gold & pred)
        fp += len(pred - gold)
        fn += len(gold - pred)
    return tp, fp, fn


def evaluate(passages: list[Passage], find: Callable[[str], list[Found]]) -> list[PassageResult]:
    return [score_passage(p, find(p.text)) for p in passages]


def throughput(passages: list[Passage], find: Callable[[str], list[Found]], target_bytes: int, runs: int) -> dict:
    """MB/s of the finder over the set copied to ~target_bytes; median of `runs` after a warm-up."""
    base = sum(len(p.text.encode("utf-8")) for p in passages)
    copies = max(1, -(-target_bytes // base))
    texts = [f"{p.text}\n\n[{k}]" for k in range(copies) for p in passages]  # distinct: no memo hits
    total = sum(len(t.encode("utf-8")) for t in texts)
    for p in passages:  # warm-up: catalog, indexes, regexes
        find(p.text)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        for t in texts:
            find(t)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    return {"bytes": total, "copies": copies, "calls": len(texts), "runs": times, "median_s": median,
            "mb_per_s": total / 1e6 / median}


def summarize(results: list[PassageResult], catalog: Iterable[str] = ()) -> dict:
    tp, fp, fn = _pair_counts(results, lambda r: (r.gold, r.predicted))
    known = {canonical(name) for name in catalog} | {None}
    covered = [r for r in results if all(lab.treaty in known for lab in r.passage.references)]
    ctp, cfp, cfn = _pair_counts(covered, lambda r: (r.gold, r.predicted))
    precision, recall, f1 = _prf(tp, fp, fn)
    ntp, nfp, nfn = _pair_counts(results, lambda r: ({n for _, n in r.gold}, {n for _, n in r.predicted}))
    written = lambda r: (r.gold, {(canonical(f.treaty) if f.treaty else canonical(f.treaty_written), f.number) for f in r.found})
    wtp, wfp, wfn = _pair_counts(results, written)
    quotes = sum(len(r.captured_quotes) + len(r.missed_quotes) for r in results)
    captured = sum(len(r.captured_quotes) for r in results)
    right = sum(r.right_quotes for r in results)
    predicted_quotes = right + sum(len(r.wrong_quotes) for r in results)
    return {
        "passages": len(results),
        "labels": sum(len(r.passage.references) for r in results),
        "gold_pairs": tp + fn, "predicted_pairs": tp + fp, "tp": tp, "fp": fp, "fn": fn,
        "precision": precision, "recall": recall, "f1": f1,
        "numbers_only": dict(zip(("tp", "fp", "fn"), (ntp, nfp, nfn))) | {"f1": _prf(ntp, nfp, nfn)[2]},
        "names_as_written": dict(zip(("tp", "fp", "fn"), (wtp, wfp, wfn))) | {"f1": _prf(wtp, wfp, wfn)[2]},
        "catalog_covered": {"passages": len(covered), "tp": ctp, "fp": cfp, "fn": cfn, "f1": _prf(ctp, cfp, cfn)[2]},
        "fully_right_passages": sum(1 for r in results if not (r.false_positives or r.false_negatives or r.missed_quotes
                                                                 or r.wrong_quotes or r.trap_hits)),
        "quotes": quotes, "quotes_captured": captured, "quote_recall": captured / quotes if quotes else 1.0,
        "predicted_quotes": predicted_quotes, "quote_precision": right / predicted_quotes if predicted_quotes else 1.0,
        "trap_passages": sum(1 for r in results if r.passage.non_treaty),
        "non_treaty_fp": sum(len(r.trap_hits) for r in results),
    }


# --------------------------------------------------------------------------- rows


def run(ctx: Context) -> list[Row]:
    try:
        find, where, catalog = load_finder()
    except ImportError as exc:
        return [
            not_available(SCENARIO, "F1 (treaty, article)", str(exc), f">= {TARGET_F1:g}"),
            not_available(SCENARIO, "quote recall", str(exc), f">= {TARGET_QUOTE_RECALL:g}"),
            not_available(SCENARIO, "non-treaty false positives", str(exc), "0"),
            not_available(SCENARIO, "throughput", str(exc), f">= {TARGET_MBPS:g} MB/s"),
        ]
    passages = load_passages()
    results = evaluate(passages, find)
    s = summarize(results, catalog)
    speed = throughput(passages, find, THROUGHPUT_BYTES, 3)
    console.print(f"  references: {s['passages']} passages, finder {where}: F1 {s['f1']:.3f}, quote recall "
                  f"{s['quote_recall']:.3f}, {s['non_treaty_fp']} non-treaty FPs, {speed['mb_per_s']:.2f} MB/s")
    size = f"{s['passages']} passages / {s['gold_pairs']} pairs"
    counts = f"TP {s['tp']}, FP {s['fp']}, FN {s['fn']}"
    extra = {"finder": where, **s}
    return [
        Row(SCENARIO, "precision (treaty, article)", size, s["precision"], "", "-", None, note=counts, extra=extra),
        Row(SCENARIO, "recall (treaty, article)", size, s["recall"], "", "-", None, note=counts),
        Row(SCENARIO, "F1 (treaty, article)", size, s["f1"], "", f">= {TARGET_F1:g}", s["f1"] >= TARGET_F1,
            note=f"P {s['precision']:.3f}, R {s['recall']:.3f}; finder: {where}"),
        Row(SCENARIO, "quote recall", f"{s['quotes']} labeled quotes", s["quote_recall"], "", f">= {TARGET_QUOTE_RECALL:g}",
            s["quote_recall"] >= TARGET_QUOTE_RECALL, note=f"{s['quotes_captured']} of {s['quotes']} captured"),
        Row(SCENARIO, "non-treaty false positives", f"{s['trap_passages']} trap passages", s["non_treaty_fp"], "refs", "0",
            s["non_treaty_fp"] == 0, note="constitutions, military law, 'an article in …', counts, by-laws"),
        Row(SCENARIO, "throughput, one core", f"{speed['bytes'] / 1e6:.1f} MB ({speed['calls']:,} calls)", speed["mb_per_s"], "MB/s",
            f">= {TARGET_MBPS:g} MB/s", speed["mb_per_s"] >= TARGET_MBPS,
            note=f"median of {len(speed['runs'])}: {speed['median_s']:.2f} s", extra=speed),
        Row(SCENARIO, "info: F1, article numbers only", size, s["numbers_only"]["f1"], "", "-", None,
            note="treaty ignored: extraction without resolution"),
        Row(SCENARIO, "info: F1, unresolved names as written", size, s["names_as_written"]["f1"], "", "-", None,
            note="treaty None -> name as written via the alias map"),
        Row(SCENARIO, "info: F1, passages the catalog covers", f"{s['catalog_covered']['passages']} passages",
            s["catalog_covered"]["f1"], "", "-", None,
            note="only passages whose labeled treaties are all in the finder's catalog (or null)"),
        Row(SCENARIO, "info: quote precision", f"{s['predicted_quotes']} predicted quotes", s["quote_precision"], "", "-", None,
            note="predicted quotes matching a labeled quote of that article"),
    ]


# --------------------------------------------------------------------------- command line


def _short(s: str | None, n: int = 90) -> str:
    if s is None:
        return "None"
    s = _ws(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def print_misses(results: list[PassageResult]) -> None:
    for r in results:
        p = r.passage
        lines = []
        for treaty, number in sorted(r.false_negatives, key=lambda x: (x[1], str(x[0]))):
            lines.append(f"  FN  {treaty} / {number}")
        for treaty, number in sorted(r.false_positives, key=lambda x: (x[1], str(x[0]))):
            f = next(f for f in r.found if (canonical(f.treaty), f.number) == (treaty, number))
            written = f" (written {f.treaty_written!r})" if f.treaty_written else ""
            lines.append(f"  FP  {treaty} / {number}{written} at {f.start}: {_short(p.text[f.start:f.start + 60], 60)!r}")
        for lab in r.missed_quotes:
            got = [f.quote for f in r.found if f.number == lab.number and f.quote]
            lines.append(f"  MISSED QUOTE  Art. {lab.number}: {_short(lab.quote)!r}; predicted: "
                         f"{', '.join(repr(_short(g, 60)) for g in got) or 'none'}")
        for f in r.wrong_quotes:
            lines.append(f"  WRONG QUOTE  Art. {f.number}: {_short(f.quote)!r}")
        for f, trap in r.trap_hits:
            lines.append(f"  NON-TREATY  Art. {f.number} at {f.start} on {trap!r}")
        if lines:
            print(f"{p.id}  [{_short(p.exercises, 110)}]")
            print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scenarios.references", description=__doc__.split("\n\n")[0])
    parser.add_argument("--misses", action="store_true", help="print every FP / FN / missed or wrong quote / non-treaty hit per passage")
    parser.add_argument("--only", nargs="+", metavar="ID", help="score only these passage ids (no throughput)")
    parser.add_argument("--no-throughput", action="store_true", help="skip the timing (accuracy rows only)")
    args = parser.parse_args(argv)
    from bench.framework import fmt_number, quiet_logging

    quiet_logging()
    if args.only or args.no_throughput:
        find, where, catalog = load_finder()
        passages = [p for p in load_passages() if not args.only or p.id in args.only]
        results = evaluate(passages, find)
        print(json.dumps({"finder": where, **summarize(results, catalog)}, indent=1))
    else:
        rows = run(Context(quick=False))
        for row in rows:
            print(f"{row.name:40} {row.size:28} {fmt_number(row.figure, row.unit) if isinstance(row.figure, float) else row.figure!s:>12}"
                  f"  target {row.target:12} {row.status:5} {row.note}")
        find, _, _ = load_finder()
        results = evaluate(load_passages(), find)
    if args.misses:
        print()
        print_misses(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
