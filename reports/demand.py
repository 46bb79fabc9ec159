"""The demand summary: what customers asked for and complained about in a period, as the most
frequent words and phrases of their complaints' subjects and descriptions, and which rose and
which fell against the period before.

Chinese is segmented into words with jieba (its dictionary ships in the package, so nothing is
fetched), English split into words, with two-word phrases beside them. A term counts once per
complaint that uses it (so one long complaint cannot fill the list).

Personal data never reaches the summary. Before counting, what may identify someone is taken
out: e-mail addresses, links, anything with a digit (phone numbers, order and account numbers,
house numbers), the person and place names jieba tags in Chinese, and capitalised English words
inside a sentence (names, streets). And a term is only shown when at least MIN_COMPLAINTS
complaints use it: what one customer alone wrote may be about that customer alone.
"""

from __future__ import annotations

import functools
import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

MIN_COMPLAINTS = 2
TOP = 15
MOVERS = 5

# ASCII classes: Chinese is written without spaces, and \S would take a whole sentence along.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*", re.ASCII)
_LINK = re.compile(r"(?:https?://|www\.)[!-~]+", re.IGNORECASE)
_WITH_DIGIT = re.compile(r"[\w+#/.-]*\d[\w+#/.()-]*", re.ASCII)
_HAN = re.compile(r"[\u3400-\u9fff]")
_SENTENCE = re.compile(r"[.!?。！？;；\n]+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
# Jieba's tags for person names, place names, organisations and other proper nouns.
_PROPER_TAGS = ("nr", "ns", "nt", "nz")
_ENGLISH_STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing done don't down during each few for from
    further get got had has have having he her here hers him his how i i'm i've if in into is it
    it's its just let me more most my no nor not now of off on once only or other our out over own
    please same she should so some still such than that the their them then there these they this
    those through to too under until up very was we were what when where which while who why will
    with would you your yours yet also hi hello dear thanks thank regards one two""".split()
)
_CHINESE_STOP = frozenset(
    "我们 你们 他们 她们 自己 这个 那个 这样 那样 什么 怎么 为什么 因为 所以 但是 "
    "而且 然后 已经 还是 或者 如果 就是 没有 不是 可以 一个 一下 现在 今天 昨天 "
    "时候 问题 谢谢 您好 请问".split()
)


@dataclass(frozen=True)
class TermCount:
    term: str
    count: int  # complaints using it in the period
    previous: int  # and in the period before

    @property
    def change(self) -> int:
        return self.count - self.previous


@dataclass(frozen=True)
class Demand:
    complaints: int
    previous_complaints: int
    terms: list[TermCount]  # the most frequent, most first
    rising: list[TermCount]
    falling: list[TermCount]


def scrub(text: str) -> str:
    """The text without what may identify a person by itself: addresses, links, numbers."""
    for pattern in (_EMAIL, _LINK, _WITH_DIGIT):
        text = pattern.sub(" ", text)
    return text


def terms_of(text: str) -> set[str]:
    """The words and two-word phrases of one complaint's text, personal data taken out."""
    found: set[str] = set()
    for sentence in _SENTENCE.split(scrub(text)):
        if _HAN.search(sentence):
            found |= _chinese_terms(sentence)
        found |= _english_terms(sentence)
    return found


@functools.cache
def _tagger():
    """jieba's part-of-speech tagger, loaded on the first Chinese text a report reads rather
    than when the engine starts: its tables are some 45 MiB of the process's memory."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is not our log
    return jieba.posseg


def _chinese_terms(sentence: str) -> set[str]:
    return {
        pair.word
        for pair in _tagger().cut(sentence)
        if len(pair.word) >= 2
        and _HAN.search(pair.word)
        and not pair.flag.startswith(_PROPER_TAGS)
        and pair.word not in _CHINESE_STOP
    }


def _english_terms(sentence: str) -> set[str]:
    words = [m.group() for m in _WORD.finditer(sentence)]
    kept: list[str | None] = []
    for index, word in enumerate(words):
        proper = index > 0 and word[0].isupper() and word.lower() != "i"
        lower = word.lower().replace("’", "'")
        kept.append(None if proper or lower in _ENGLISH_STOP or len(lower) < 3 else lower)
    # A phrase is two kept words side by side in the sentence.
    phrases = {f"{a} {b}" for a, b in zip(kept, kept[1:], strict=False) if a and b}
    return {w for w in kept if w} | phrases


def demand_summary(texts: Iterable[str], previous_texts: Iterable[str]) -> Demand:
    now, complaints = _document_counts(texts)
    before, previous_complaints = _document_counts(previous_texts)
    shown = {t for t, n in now.items() if n >= MIN_COMPLAINTS}
    shown_before = {t for t, n in before.items() if n >= MIN_COMPLAINTS}

    def count(term: str) -> TermCount:
        # A term below the threshold shows as 0 on its side, so no rare term leaks through the
        # comparison either.
        return TermCount(
            term,
            now[term] if term in shown else 0,
            before[term] if term in shown_before else 0,
        )

    ranked = sorted(shown, key=lambda t: (-now[t], t))
    movers = [count(t) for t in sorted(shown | shown_before)]
    rising = sorted((m for m in movers if m.change > 0), key=lambda m: (-m.change, m.term))
    falling = sorted((m for m in movers if m.change < 0), key=lambda m: (m.change, m.term))
    return Demand(
        complaints=complaints,
        previous_complaints=previous_complaints,
        terms=[count(t) for t in ranked[:TOP]],
        rising=rising[:MOVERS],
        falling=falling[:MOVERS],
    )


def _document_counts(texts: Iterable[str]) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    documents = 0
    for text in texts:
        documents += 1
        counts.update(terms_of(text))
    return counts, documents
