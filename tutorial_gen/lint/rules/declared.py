"""Rules about what technique.toml declares for a script: the parameters its profiles set, the
metrics, the phrases of its claims. They are preflight's checks, read from the script alone: a run
refuses the first such problem before a kernel starts; lint lists them all, each at its line of
technique.toml."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ...errors import ConfigError, ScriptError
from ...model import Notebook, Technique
from ...run.preflight import metric_problems, phrase_problems, profile_problems
from ..document import Document
from ..registry import Hit, rule

Problems = Callable[[Technique, Notebook], Iterator[ConfigError]]


def _rule(problems: Problems) -> Callable[[Document], Iterator[Hit]]:
    """A rule reporting each problem that `problems` finds for a script of a technique."""

    def check(doc: Document) -> Iterator[Hit]:
        if doc.technique is None or doc.notebook is None:
            return
        try:
            for problem in problems(doc.technique, doc.notebook):
                yield Hit(None, problem.line, problem.message, problem.hint, problem.path)
        except ScriptError:
            return  # a parameters cell that does not parse: the `syntax` rule names it

    return check


rule(
    "profile-parameter",
    "a profile in technique.toml sets a parameter the script's parameters cell does not define",
    "set only names the cell tagged 'parameters' assigns: papermill adds any other as a new "
    "variable that nothing reads",
)(_rule(lambda technique, notebook: profile_problems(technique, notebook, notebook.profiles)))
rule(
    "unassigned-metric",
    "a metric technique.toml declares for the script is never assigned in it",
    "assign it at the top level of the script, or remove it from [notebooks.metrics]",
)(_rule(metric_problems))
rule(
    "claim-phrase",
    "a claim's phrase is not in the notebook's prose, word for word and case included",
    "the claim must back a sentence the reader sees, word for word",
)(_rule(phrase_problems))
