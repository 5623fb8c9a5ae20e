"""Rules about the prose: numbers nobody checks, dead links, broken headings, placeholders."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...model import Marker
from ..document import Document
from ..registry import Hit, rule

DEAD_SERVICES = {"tensorboard.dev": "TensorBoard.dev was shut down on 1 January 2024"}
_ASSERTED_NUMBER = re.compile(
    r"(?<![\w.,])\d+(?:[.,]\d+)*\s?"
    r"(?:[xX×](?!\s?\d|\w)|%|(?:percentage\s)?points?\b|times\b|(?:[KMG]i?B|bytes|ms|µs)(?!\w))"
)
# A percentage that names a sparsity target configures the run rather than reports a result.
_SETTING = re.compile(
    r"(?:[\s,]+(?:and\s+)?\d+%)*\s+(?:final\s+|unstructured\s+|target\s+)?spars(?:ity|e)\b"
)
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
_CITE = "cite it: say 'published', or link the source on tensorflow.org / github.com/tensorflow"
_CITED = re.compile(
    r"\bpublish(?:ed|es)\b|https?://(?:[\w-]+\.)*tensorflow\.org\b|github\.com/tensorflow/", re.I
)


def _blank(text: str, pattern: re.Pattern[str], keep: str = "\n") -> str:
    """`text` with what `pattern` matches replaced by spaces (except `keep`): offsets stay put."""
    return pattern.sub(lambda m: "".join(c if c in keep else " " for c in m.group()), text)


def _sentence(text: str, offset: int) -> str:
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    start = max((e for e in ends if e <= offset), default=0)
    return text[start : min((e for e in ends if e > offset), default=len(text))]


@rule(
    "unbacked-number",
    "a number in the prose that no claim checks and no source backs",
    f"add a claim whose phrase holds it to technique.toml, or {_CITE}",
)
def _unbacked_number(doc: Document) -> Iterator[Hit]:
    phrases = [re.compile(r"\s+".join(map(re.escape, c.phrase.split())), re.I) for c in doc.claims]
    for cell in doc.markdown:
        text = cell.source
        prose = _blank(_blank(text, _CODE), _NOT_PROSE, keep="\n#")
        backed = [m.span() for phrase in phrases for m in phrase.finditer(text)]
        for match in _ASSERTED_NUMBER.finditer(prose):
            if any(a <= match.start() and match.end() <= b for a, b in backed):
                continue
            if _SETTING.match(prose, match.end()):  # "to 80% sparsity": the run's setting
                continue
            if _CITED.search(_sentence(text, match.start())):
                continue
            number = " ".join(match.group().split())
            checked = "no claim of technique.toml checks it and " if doc.technique else ""
            yield Hit(
                cell,
                text.count("\n", 0, match.start()) + 1,
                f"'{number}': {checked}the sentence cites no source",
                None if doc.technique else _CITE,
            )


_DEAD_LINK = re.compile(
    r"\b(?:[\w-]+\.)*(" + "|".join(map(re.escape, DEAD_SERVICES)) + r")(?![\w-])", re.I
)


@rule("dead-link", "a link to a service that no longer exists", "remove the link")
def _dead_link(doc: Document) -> Iterator[Hit]:
    for cell in doc.cells:
        for number, line in enumerate(cell.lines, start=1):
            for match in _DEAD_LINK.finditer(line):
                reason = DEAD_SERVICES[match.group(1).lower()]
                yield Hit(cell, number, f"links to {match.group()}: {reason}")


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
        text = _blank(cell.source, _CODE)
        for match in _NO_SPACE_HEADING.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            yield Hit(cell, line, f"'{cell.lines[line - 1].strip()}' has no space after the #s")
        for match in _H1.finditer(text):
            titles += 1
            if titles > 1:
                line = text.count("\n", 0, match.start()) + 1
                yield Hit(cell, line, "a second H1 heading: the title is the only one")


@rule("placeholder", f"an unfilled {Marker.PLACEHOLDER} place", "fill in or remove")
def _placeholder(doc: Document) -> Iterator[Hit]:
    for cell in doc.cells:
        for number, line in enumerate(cell.lines, start=1):
            if Marker.PLACEHOLDER in line:
                yield Hit(cell, number, f"unfilled place: {line.strip().lstrip('#').strip()}")
