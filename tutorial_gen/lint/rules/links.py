"""Rules about links: to services that are gone, and Markdown links that do not render."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..document import Document
from ..registry import Hit, rule
from .prose import without_code

DEAD_SERVICES = {"tensorboard.dev": "TensorBoard.dev was shut down on 1 January 2024"}
_DEAD = re.compile(
    r"\b(?:[\w-]+\.)*(" + "|".join(map(re.escape, DEAD_SERVICES)) + r")(?![\w-])", re.I
)
_TITLE = re.compile(r"""\s+(?:"[^"\n]*"|'[^'\n]*'|\([^()\n]*\))\s*\)""")
_HTML_LINK = re.compile(r"<a\s[^>]*>.*?</a\s*>", re.I | re.DOTALL)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_BRACKET = re.compile(r"[\[\]]")
_SPACED = re.compile(r"\][ \t]+\(https?://")


@dataclass(frozen=True)
class Link:
    """A Markdown link `[text](target)` of a cell's prose, by offsets; `problem` if malformed."""

    start: int  # the `[`, or the `]` when no `[` opens the text
    end: int
    target: str
    problem: str | None = None


def _target(text: str, at: int) -> tuple[int, str, str | None]:
    """Read a link target from just after its `(`: (its end, the target, what is wrong)."""
    if text.startswith("(", at):
        close = text.find(")", at)
        if close == -1 or "\n" in text[at:close]:
            close = text.find("\n", at) if "\n" in text[at:] else len(text)
            return close, text[at + 1 : close], "double parentheses `]((`: the link does not render"
        end = close + 2 if text.startswith(")", close + 1) else close + 1
        return end, text[at + 1 : close], "double parentheses `]((`: the link does not render"
    depth, index = 0, at
    while index < len(text) and not text[index].isspace():
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            if depth == 0:
                return index + 1, text[at:index], None
            depth -= 1
        index += 1
    if title := _TITLE.match(text, index):
        return title.end(), text[at:index], None
    return index, text[at:index], "the target's parentheses are not balanced: it does not render"


def links(text: str) -> Iterator[Link]:
    """The Markdown links of `text` (code blanked), in order, malformed ones included."""
    paragraphs = [0, *(m.end() for m in _PARAGRAPH.finditer(text))]
    opened: list[int] = []  # the `[`s of the current paragraph not yet closed
    index = 0
    while (index := _next_bracket(text, index)) != -1:
        if opened and bisect.bisect_right(paragraphs, opened[-1]) < bisect.bisect_right(
            paragraphs, index
        ):
            opened.clear()  # a link's text does not cross a blank line
        if text[index] == "[":
            opened.append(index)
            index += 1
            continue
        start = opened.pop() if opened else None
        if text.startswith("(", index + 1):
            end, target, problem = _target(text, index + 2)
            if start is None:
                problem = problem or "no `[` opens the link text: it does not render"
            yield Link(index if start is None else start, end, target, problem)
            index = end
        elif start is not None and _SPACED.match(text, index):
            yield Link(start, index + 1, "", "a space between `]` and `(`: it does not render")
            index += 1
        else:
            index += 1


def _next_bracket(text: str, at: int) -> int:
    found = _BRACKET.search(text, at)
    return found.start() if found else -1


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


@rule(
    "link",
    "a malformed Markdown link: it shows as text, and its target is lost",
    "write [text](https://...) with one pair of brackets and one of parentheses",
)
def _link(doc: Document) -> Iterator[Hit]:
    for cell in doc.markdown:
        text = without_code(cell.source)
        for link in links(text):
            if link.problem:
                shown = " ".join(cell.source[link.start : link.end].split())[:80]
                yield Hit(cell, _line(text, link.start), f"`{shown}`: {link.problem}")


@rule("dead-link", "a link to a service that no longer exists", "remove the link")
def _dead_link(doc: Document) -> Iterator[Hit]:
    for cell in doc.cells:
        text = cell.source if cell.kind == "code" else without_code(cell.source)
        spans = [(m.start(), m.end()) for m in _HTML_LINK.finditer(text)]
        if cell.kind == "markdown":
            spans += [(link.start, link.end) for link in links(text)]
        reported: set[tuple[int, int]] = set()
        for match in _DEAD.finditer(text):  # one finding per link, however often it names it
            span = next((s for s in spans if s[0] <= match.start() < s[1]), match.span())
            if span not in reported:
                reported.add(span)
                reason = DEAD_SERVICES[match.group(1).lower()]
                yield Hit(cell, _line(text, span[0]), f"links to {match.group()}: {reason}")
