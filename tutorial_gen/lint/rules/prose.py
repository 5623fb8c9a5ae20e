"""Rules about the prose: numbers and qualitative claims nobody checks, broken headings,
placeholders. Each scan is linear in the text: a cell of thousands of numbers lints at once."""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...config.toml import line_of, load_toml
from ...model import Marker
from ..document import Cell, Document
from ..registry import Hit, rule

_ASSERTED_NUMBER = re.compile(
    r"(?<![\w.,])\d+(?:[.,]\d+)*\s?"
    r"(?:[xX×](?!\s?\d|\w)|%|(?:percentage\s)?points?\b|times\b"
    r"|(?:[KMG]i?B|bytes|ms|µs|μs|us|usec)(?!\w))"
)
# A percentage that names a sparsity target, or the share of weights set to zero, configures the
# run rather than reports a result: "to 80% sparsity", "25% of the weights", "sparsity of 50%".
_SETTING = re.compile(
    r"(?:[\s,]+(?:and\s+)?\d+%){0,8}\s+(?:final\s+|unstructured\s+|target\s+)?spars(?:ity|e)\b"
    r"|\s+(?:of\s+(?:the\s+|its\s+|all\s+)?(?:\w+\s+)?weights|zeros(?:\s+in\s+(?:the\s+)?weights)?)\b"
)
_SETTING_BEFORE = re.compile(r"spars(?:ity|e)(?:\s+(?:target|level))?\s+(?:of|to|at)\s+$")
_CODE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*|`[^`\n]*`", re.MULTILINE | re.DOTALL)
_NOT_PROSE = re.compile(
    r"\]\([^)]*\)"  # link targets
    r"|<[^>\n]+>"  # HTML tags and autolinks
    r"|https?://\S+"  # bare URLs
    r"|^ {0,3}#{1,6}[ \t]+\d+(?:\.\d+)*\.?(?=\s)"  # heading numbers: ## 2. Train
    r"|^\s*\d+[.)](?=\s)",  # ordered list markers
    re.MULTILINE,
)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)]|#+)\s)")
_QUOTED = re.compile(r'"[^"\n]*"|“[^”]*”')
_CITE = "cite it: say 'published', or link the source on tensorflow.org / github.com/tensorflow"
_CITED = re.compile(
    r"\bpublish(?:ed|es)\b|https?://(?:[\w-]+\.)*tensorflow\.org\b|github\.com/tensorflow/", re.I
)


def _blank(text: str, pattern: re.Pattern[str], keep: str = "\n") -> str:
    """`text` with what `pattern` matches replaced by spaces (except `keep`): offsets stay put."""
    return pattern.sub(lambda m: "".join(c if c in keep else " " for c in m.group()), text)


def without_code(text: str) -> str:
    """Markdown with its code blocks and code spans blanked (offsets and lines stay put)."""
    return _blank(text, _CODE)


class _Spans:
    """Sorted (start, end) spans, asked in O(log n) whether one holds or touches a range."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        spans = sorted(spans)
        self.starts = [a for a, _ in spans]
        self.reach = []  # the furthest end among the spans starting at or before each
        for _, end in spans:
            self.reach.append(max(end, self.reach[-1] if self.reach else end))

    def holds(self, start: int, end: int) -> bool:
        index = bisect.bisect_right(self.starts, start) - 1
        return index >= 0 and self.reach[index] >= end

    def touches(self, start: int, end: int) -> bool:
        index = bisect.bisect_left(self.starts, end) - 1
        return index >= 0 and self.reach[index] > start


class _Prose:
    """One Markdown cell read once: its prose, its lines and sentences, what claims back."""

    def __init__(self, cell: Cell, doc: Document) -> None:
        self.text = cell.source
        self.prose = _blank(without_code(self.text), _NOT_PROSE, keep="\n#")
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", self.text))]
        self.ends = [m.end() for m in _SENTENCE_END.finditer(self.text)]
        self.backed = _Spans([m.span() for p in _phrases(doc) for m in p.finditer(self.text)])
        self.quoted = _Spans([m.span() for m in _QUOTED.finditer(self.text)])
        self._cited: dict[int, bool] = {}

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset)

    def sentence(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.ends, offset)
        start = self.ends[index - 1] if index else 0
        return start, self.ends[index] if index < len(self.ends) else len(self.text)

    def cited(self, offset: int) -> bool:
        """Whether the sentence at `offset` cites a source (read once per sentence)."""
        start, end = self.sentence(offset)
        if start not in self._cited:
            self._cited[start] = bool(_CITED.search(self.text, start, end))
        return self._cited[start]


def _phrases(doc: Document) -> list[re.Pattern[str]]:
    return _compiled(tuple(c.phrase for c in doc.claims))


@functools.lru_cache(maxsize=64)
def _compiled(phrases: tuple[str, ...]) -> list[re.Pattern[str]]:
    return [re.compile(r"\s+".join(map(re.escape, p.split())), re.I) for p in phrases]


@rule(
    "unbacked-number",
    "a number in the prose that no claim checks and no source backs",
    f"add a claim whose phrase holds it to technique.toml, or {_CITE}",
)
def _unbacked_number(doc: Document) -> Iterator[Hit]:
    for cell in doc.markdown:
        prose = _Prose(cell, doc)
        for match in _ASSERTED_NUMBER.finditer(prose.prose):
            start, end = match.span()
            if prose.backed.holds(start, end):
                continue
            if _SETTING.match(prose.prose, end) or _SETTING_BEFORE.search(
                prose.prose, max(0, start - 40), start
            ):
                continue  # "to 80% sparsity": the run's setting
            if prose.cited(start):
                continue
            number = " ".join(match.group().split())
            checked = "no claim of technique.toml checks it and " if doc.technique else ""
            yield Hit(
                cell,
                prose.line(start),
                f"'{number}': {checked}the sentence cites no source",
                None if doc.technique else _CITE,
            )


_FEW = r"(?:(?:minimal|little)\s+(?:to|or)\s+no|minimal|negligible|little|no)"
_SOME = r"(?:small|slight|tiny|minor|marginal)"
_CHANGE = r"(?:loss|drop|degradation|difference|decrease|change|impact)"
_QUALITATIVE = re.compile(
    rf"\b{_FEW}\s+(?:(?:test\s+)?accuracy\s+)?(?:loss|drop|degradation)(?![\w-]|\s+function)"
    rf"|\b(?:{_FEW}|{_SOME})\s+(?:test\s+)?accuracy\s+{_CHANGE}\b"
    rf"|\b{_SOME}\s+{_CHANGE}\s+(?:in|of)\s+(?:the\s+)?(?:test\s+)?accuracy\b"
    r"|\bnegligible\b"
    r"|\b(?:much|far|significantly|considerably|dramatically|substantially|vastly)\s+"
    r"(?:smaller|faster|lower|less|more\s+compact)\b",
    re.I,
)


@rule(
    "qualitative-claim",
    "a qualitative claim about accuracy or size that no claim checks",
    "say what was measured (e.g. 'within 2 points of the baseline') and check it with a claim, "
    "or leave the claim out",
)
def _qualitative_claim(doc: Document) -> Iterator[Hit]:
    # A sentence is backed when it holds the phrase of one of the notebook's claims: the claim
    # measures what the words say ("within 1 point of the baseline: a minimal loss"). Quoted
    # words are someone else's, and a cited sentence has its source.
    for cell in doc.markdown:
        prose = _Prose(cell, doc)
        for match in _QUALITATIVE.finditer(prose.prose):
            start, end = match.span()
            if prose.backed.touches(*prose.sentence(start)) or prose.quoted.holds(start, end):
                continue
            if prose.cited(start):
                continue
            words = " ".join(match.group().split())
            backer = "no claim of technique.toml" if doc.technique else "nothing in the notebook"
            yield Hit(
                cell,
                prose.line(start),
                f"'{words}': a qualitative claim that {backer} measures: "
                "it can stop holding and nobody notices",
            )


_NO_SPACE_HEADING = re.compile(r"^ {0,3}#{1,6}(?=[^\s#])", re.MULTILINE)
_H1 = re.compile(r"^ {0,3}#[ \t]+\S", re.MULTILINE)


@rule(
    "heading",
    "an invalid Markdown heading",
    "put a space after the #s, and keep one H1 (the title) per notebook",
)
def _heading(doc: Document) -> Iterator[Hit]:
    titles = 0
    for cell in doc.markdown:
        prose = _Prose(cell, doc)
        text = without_code(cell.source)
        for match in _NO_SPACE_HEADING.finditer(text):
            line = prose.line(match.start())
            yield Hit(cell, line, f"'{cell.lines[line - 1].strip()}' has no space after the #s")
        for match in _H1.finditer(text):
            titles += 1
            if titles > 1:
                yield Hit(
                    cell,
                    prose.line(match.start()),
                    "a second H1 heading: the title is the only one",
                )


@rule("placeholder", f"an unfilled {Marker.PLACEHOLDER} place", "fill in or remove")
def _placeholder(doc: Document) -> Iterator[Hit]:
    for cell in doc.cells:
        for number, line in enumerate(cell.lines, start=1):
            if Marker.PLACEHOLDER in line:
                yield Hit(cell, number, f"unfilled place: {line.strip().lstrip('#').strip()}")
    if doc.technique and not doc.technique.foreign:
        yield from _declared_placeholders(doc.technique.path)


def _strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(where, text) of every string in a parsed TOML value: `overview.references[0].title`."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


def _declared_placeholders(path: Path) -> Iterator[Hit]:
    """The unfilled places of a technique.toml: a string value holding the scaffold's marker
    (comments are no values). Each is found at the k-th line holding its text, for the k-th
    value holding it; else at its key."""
    lines = path.read_text(encoding="utf-8").splitlines()
    seen: dict[str, int] = {}
    for where, text in _strings(load_toml(path)):
        if Marker.PLACEHOLDER not in text:
            continue
        part = next(t for t in text.splitlines() if Marker.PLACEHOLDER in t).strip()
        holding = [
            n
            for n, line in enumerate(lines, start=1)
            if part in line and not line.lstrip().startswith("#")
        ]
        index = seen[part] = seen.get(part, -1) + 1
        key = re.sub(r"\[\d+\]", "", where).rsplit(".", 1)[-1]
        line = holding[index] if index < len(holding) else line_of(path, key)
        yield Hit(None, line, f"unfilled place in {where}: {part}", path=path)
