"""The lint rules: each is registered with `@rule(id, message, hint)` and yields `Hit`s.

What they catch is what breaks the published tutorials for their readers (see the README's table):
versions nobody tested, Keras 3 under tfmot, paths and files on the author's machine, shell
commands whose failure goes unnoticed, unseeded training, numbers nobody checks, dead links,
broken headings, a tutorial that skips a step of the journey, and unfilled scaffolding.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import re
import sys
from collections.abc import Iterator

from .build import (
    _IMPORT_DISTRIBUTIONS,
    _PREINSTALLED,
    IPYTHON_LINE,
    _installed_modules,
    _normalise,
)
from .lint import Cell, Document, Found, Hit, dotted, rule, run_time_nodes

# Services that no longer exist; a link to one is dead for every reader. The one list of them.
DEAD_SERVICES = {"tensorboard.dev": "TensorBoard.dev was shut down on 1 January 2024"}
PLACEHOLDER = "TODO(tutorial-gen)"
SKIP_TAG = "skip-execution"  # nbclient (and so papermill) does not execute cells with this tag

# Import names whose distribution is not found by name, or that every runtime has (None): build's
# table, so our notebooks agree with their setup cell, plus names that foreign notebooks use.
_DISTRIBUTIONS = {
    **_IMPORT_DISTRIBUTIONS,
    "google": None,  # google.colab
    "PIL": "pillow",
    "sklearn": "scikit-learn",
    "cv2": "opencv-python",
    "yaml": "pyyaml",
}
_PIP_INSTALL = re.compile(r"\bpip3?\b\W+install\b[\"']?(?P<args>.*)")
_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][\w.-]*)(?:\[[^\]]*\])?\s*(?P<spec>[<>=!~].*)?$")
_OPTIONS_WITH_VALUE = {"-r", "-c", "-e", "-i", "-f", "--requirement", "--constraint", "--index-url"}


def _distribution(module: str, pins: dict[str, str]) -> str | None:
    """The distribution a top-level import comes from; None for the stdlib and preinstalled ones."""
    if module in sys.stdlib_module_names or module == "__future__":
        return None
    if module in _DISTRIBUTIONS:
        return _DISTRIBUTIONS[module]
    candidates = [_normalise(d) for d in _installed_modules().get(module, [])]
    found = ([d for d in candidates if d in pins] or candidates or [_normalise(module)])[0]
    return None if found in _PREINSTALLED else found


def _installs(doc: Document) -> dict[str, str]:
    """{distribution: version specifier} of everything the notebook installs ('' = unpinned)."""
    installs: dict[str, str] = {}
    for cell in doc.code:
        for node in cell.nodes():
            if (  # the generated setup cell of our notebooks
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "TESTED_VERSIONS" for t in node.targets)
                and isinstance(node.value, ast.Dict)
            ):
                with contextlib.suppress(ValueError):
                    for name, version in ast.literal_eval(node.value).items():
                        installs[_normalise(name)] = f"=={version}"
        for line in cell.lines:
            match = _PIP_INSTALL.search(line)
            if not match:
                continue
            args = match.group("args")
            if IPYTHON_LINE.match(line):  # `!pip install a==1 b`, `%pip install ...`
                words = [w.strip("\"'") for w in args.split()]
            else:  # subprocess.run([..., "pip", "install", "a==1"])
                words = re.findall(r"[\"']([^\"']+)[\"']", args)
            skip_next = False
            for word in words:
                requirement = _REQUIREMENT.match(word)
                if not (skip_next or word.startswith("-") or not requirement):
                    installs[_normalise(requirement["name"])] = (requirement["spec"] or "").replace(
                        " ", ""
                    )
                skip_next = word in _OPTIONS_WITH_VALUE
    return installs


@rule(
    "setup-pins",
    "an imported distribution is not installed at the version pyproject.toml tests",
    "pin it with == in the setup cell, to the version in pyproject.toml",
)
def _setup_pins(doc: Document) -> Iterator[Hit]:
    installs = _installs(doc)
    seen: set[str] = set()
    for found in doc.imports:
        dist = _distribution(found.name, doc.pins)
        if dist is None or dist in seen:
            continue
        seen.add(dist)
        tested = doc.pins.get(dist)
        if tested is None:
            yield Hit(
                found.cell,
                found.line,
                f"imports '{found.name}' ({dist}), which pyproject.toml does not pin: "
                "nothing tests the version a reader gets",
                f"add {dist}==<version> to [project] dependencies, or do without it",
            )
        elif dist not in installs:
            yield Hit(
                found.cell,
                found.line,
                f"imports '{found.name}', but no setup cell installs {dist}",
                f"install {dist}=={tested} before the first import",
            )
        elif installs[dist] != f"=={tested}":
            got = installs[dist] or " without a version"
            yield Hit(
                found.cell,
                found.line,
                f"installs {dist}{got}, not the tested {dist}=={tested}",
                f"install {dist}=={tested}",
            )


_LEGACY_KERAS = re.compile(
    r"""environ\s*\[\s*["']TF_USE_LEGACY_KERAS["']\s*\]\s*=\s*["']1["']"""
    r"""|environ\.setdefault\(\s*["']TF_USE_LEGACY_KERAS["']\s*,\s*["']1["']\s*\)"""
    r"""|^\s*%env\s+TF_USE_LEGACY_KERAS\s*[=\s]\s*["']?1["']?\s*$"""
)


@rule(
    "legacy-keras",
    "tfmot is used, but TF_USE_LEGACY_KERAS=1 is not set before TensorFlow is imported",
    'set os.environ["TF_USE_LEGACY_KERAS"] = "1" before the first TensorFlow import, '
    "and import tf_keras as keras",
)
def _legacy_keras(doc: Document) -> Iterator[Hit]:
    if not doc.first_import("tensorflow_model_optimization"):
        return
    first = doc.first_import("tensorflow", "tf_keras", "tensorflow_model_optimization")
    for cell in doc.code:
        for number, line in enumerate(cell.lines, start=1):
            if (cell.index, number) >= first.position:
                yield Hit(
                    first.cell,
                    first.line,
                    f'imports {first.name} before TF_USE_LEGACY_KERAS is set to "1": '
                    "tfmot 0.8 rejects Keras 3 models",
                )
                return
            if not line.lstrip().startswith("#") and _LEGACY_KERAS.search(line):
                return


_ABSOLUTE = re.compile(r"^(?:/[\w.~+-]+(?:/[\w.~+-]*)*|[A-Za-z]:\\.*)$")
# Kernel interfaces every Linux runtime (Colab included) has: reading them is not machine-bound.
_SYSTEM_FILES = ("/proc/", "/sys/", "/dev/null")


def _strings(cell: Cell) -> Iterator[tuple[int, str]]:
    """String literals of a cell's code, and the words of its shell and magic lines."""
    for node in cell.nodes():
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
    for number, line in enumerate(cell.lines, start=1):
        if IPYTHON_LINE.match(line):
            yield from ((number, word.strip("\"'")) for word in line.split())


@rule(
    "absolute-path",
    "a hard-coded absolute path",
    "write under tempfile.mkdtemp() and build paths with os.path.join",
)
def _absolute_path(doc: Document) -> Iterator[Hit]:
    for cell in doc.code:
        for line, text in _strings(cell):
            if _ABSOLUTE.match(text) and not text.startswith(_SYSTEM_FILES):
                yield Hit(
                    cell, line, f"hard-coded path '{text}': it exists on the author's machine"
                )


# Call name (its last part) -> position of the path argument, for calls that write a file.
_WRITERS = {"save": 0, "savez": 0, "savez_compressed": 0, "savetxt": 0, "savefig": 0}
_WRITERS |= {"save_weights": 0, "to_csv": 0, "save_model": 1}
_PATH_KEYWORDS = {"file", "filename", "filepath", "fname", "path", "export_dir"}


def _written_path(name: str, call: ast.Call) -> ast.expr | None:
    last = name.rsplit(".", 1)[-1]
    if last == "open" and name in {"open", "io.open"}:
        mode = call.args[1] if len(call.args) > 1 else None
        mode = mode or next((k.value for k in call.keywords if k.arg == "mode"), None)
        writes = isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax+")
        return call.args[0] if writes and call.args else None
    if last in {"write_text", "write_bytes"} and isinstance(call.func, ast.Attribute):
        receiver = call.func.value  # Path("name").write_text(...)
        return receiver.args[0] if isinstance(receiver, ast.Call) and receiver.args else None
    if last in _WRITERS:
        index = 1 if name.endswith("saved_model.save") else _WRITERS[last]
        keyword = next((k.value for k in call.keywords if k.arg in _PATH_KEYWORDS), None)
        return call.args[index] if len(call.args) > index else keyword
    return None


@rule(
    "cwd-write",
    "a file is written into the working directory",
    "write under a tempfile.mkdtemp() directory instead",
)
def _cwd_write(doc: Document) -> Iterator[Hit]:
    for cell in doc.code:
        for node in cell.nodes():
            if not isinstance(node, ast.Call):
                continue
            path = _written_path(dotted(node.func), node)
            if (
                isinstance(path, ast.Constant)
                and isinstance(path.value, str)
                and path.value
                and not _ABSOLUTE.match(path.value)
                and "://" not in path.value
            ):
                yield Hit(cell, node.lineno, f"writes '{path.value}' into the working directory")


# Magics that cannot fail unnoticed: they set kernel state, or time Python that raises as usual.
_SAFE_MAGICS = {"env", "matplotlib", "time", "timeit", "capture"}


@rule(
    "shell-cell",
    "a shell command or magic whose failure the run does not notice",
    f"run it from Python with subprocess.run(..., check=True), or tag the cell '{SKIP_TAG}' "
    "if it is for readers only",
)
def _shell_cell(doc: Document) -> Iterator[Hit]:
    for cell in doc.code:
        if SKIP_TAG in cell.tags:
            continue
        for number, line in enumerate(cell.lines, start=1):
            match = IPYTHON_LINE.match(line)
            if match and not (match["kind"] != "!" and match["command"] in _SAFE_MAGICS):
                yield Hit(cell, number, f"`{line.strip()}` runs outside Python")


@rule(
    "seeds",
    "the notebook trains without seeding its random number generators first",
    "call keras.utils.set_random_seed(seed) before building and training models",
)
def _seeds(doc: Document) -> Iterator[Hit]:
    fit = next((c for c in doc.calls if c.name.endswith(".fit")), None)
    tensorflow = doc.first_import("tensorflow", "tf_keras", "keras")
    start = fit or tensorflow
    if start is None:
        return
    before = {c.name for c in doc.calls if fit is None or c.position < fit.position}
    if any(name.endswith("set_random_seed") for name in before):
        return
    tf_seeded = any(name.endswith("random.set_seed") for name in before)
    np_seeded = bool(before & {"np.random.seed", "numpy.random.seed"})
    missing = [] if tf_seeded or not tensorflow else ["tf.random.set_seed"]
    if not np_seeded and (doc.first_import("numpy") or not tensorflow):
        missing.append("np.random.seed")
    if missing:
        where = "before the first fit" if fit else "anywhere"
        yield Hit(start.cell, start.line, f"no {' or '.join(missing)} {where}: every run differs")


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


@rule(
    "parameters",
    "papermill cannot read a line of the cell tagged 'parameters'",
    "keep one `name = value  # help` per line, with no '=' in the comment",
)
def _parameters(doc: Document) -> Iterator[Hit]:
    # papermill reads this cell to list a notebook's parameters and to check the ones it is given;
    # a line it cannot read logs a warning on every run and hides the parameter from --help-notebook
    import nbformat
    from papermill.translators import PythonTranslator

    for cell in doc.code:
        if "parameters" not in cell.tags or cell.tree is None:
            continue
        papermill_log = logging.getLogger("papermill.translators")  # we report it
        papermill_log.disabled, was_disabled = True, papermill_log.disabled
        try:
            read = {
                p.name for p in PythonTranslator.inspect(nbformat.v4.new_code_cell(cell.source))
            }
        finally:
            papermill_log.disabled = was_disabled
        for node in cell.tree.body:
            names = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
            if any(name not in read for name in names):
                text = cell.lines[node.lineno - 1].strip()
                yield Hit(cell, node.lineno, f"papermill cannot read `{text}`")


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


_TECHNIQUE_CALLS = {"prune_low_magnitude", "quantize_model", "quantize_apply", "cluster_weights"}
_MEASURE_CALLS = {"zipped_size", "file_size", "getsize", "tflite_accuracy", "tflite_latency"}
_MEASURE_CALLS |= {"tflite_runtime_memory"}
_JOURNEY = {
    "technique": lambda n: n.rsplit(".", 1)[-1] in _TECHNIQUE_CALLS,
    "baseline": lambda n: n.endswith(".fit"),
    "evaluation": lambda n: n.endswith(".evaluate") or "accuracy" in n.rsplit(".", 1)[-1],
    "export": lambda n: (
        "TFLiteConverter" in n or n.rsplit(".", 1)[-1] in {"save", "save_model", "convert"}
    ),
    "measurement": lambda n: n.rsplit(".", 1)[-1] in _MEASURE_CALLS,
}


def _quantizing_conversion(node: ast.AST) -> bool:
    """A call of the convert snippet's `to_tflite` with a mode other than float."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "to_tflite"
    ):
        return False
    modes = [k.value for k in node.keywords if k.arg == "mode"] + node.args[1:2]
    return any(isinstance(m, ast.Constant) and m.value != "float" for m in modes)


def _journey_steps(doc: Document) -> dict[str, list[Found]]:
    steps = {step: [c for c in doc.calls if test(c.name)] for step, test in _JOURNEY.items()}
    for cell in doc.code:  # post-training quantization: converter.optimizations = [...]
        for node in run_time_nodes(cell.tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) and t.attr == "optimizations" for t in node.targets
            ):
                steps["technique"].append(Found(cell, node.lineno, "optimizations"))
            if _quantizing_conversion(node):  # the convert snippet: to_tflite(model, "int8")
                steps["technique"].append(Found(cell, node.lineno, "to_tflite"))
    steps["technique"].sort(key=lambda f: f.position)
    return steps


@rule(
    "journey",
    "a step of the tutorial journey is missing or out of order",
    "a tutorial trains a baseline, applies the technique, evaluates against the baseline, "
    "exports, then measures the exported file",
)
def _journey(doc: Document) -> Iterator[Hit]:
    tensorflow = doc.first_import("tensorflow", "tf_keras", "tensorflow_model_optimization")
    if doc.role != "tutorial" or tensorflow is None:
        return
    steps = _journey_steps(doc)
    if not steps["technique"]:
        yield Hit(
            tensorflow.cell,
            tensorflow.line,
            "no technique step: nothing calls tfmot "
            "(prune_low_magnitude, quantize_model, ...) or sets converter.optimizations",
        )
        return
    # the technique step that counts is the first after a baseline was trained (a notebook may
    # call a technique API earlier, e.g. to show which models it accepts)
    first_fit = min((f.position for f in steps["baseline"]), default=None)
    trained = [f for f in steps["technique"] if first_fit is not None and f.position > first_fit]
    applied = trained[0] if trained else steps["technique"][0]
    after = {
        step: [f for f in found if f.position > applied.position] for step, found in steps.items()
    }
    exported = after["export"][0].position if after["export"] else applied.position
    missing = {
        "baseline": not any(f.position < applied.position for f in steps["baseline"]),
        "evaluation": not after["evaluation"],
        "export": not after["export"],
        "measurement": not any(f.position > exported for f in after["measurement"]),
    }
    what = {
        "baseline": "no baseline: nothing is trained (fit) before",
        "evaluation": "no evaluation against the baseline (evaluate, an accuracy) after",
        "export": "no export (TFLiteConverter, save) after",
        "measurement": "no measurement of the exported file (zipped_size, tflite_accuracy, ...) after",
    }
    for step, absent in missing.items():
        if absent:
            yield Hit(applied.cell, applied.line, f"{what[step]} {applied.name}")


@rule("placeholder", f"an unfilled {PLACEHOLDER} place", "fill in or remove")
def _placeholder(doc: Document) -> Iterator[Hit]:
    for cell in doc.cells:
        for number, line in enumerate(cell.lines, start=1):
            if PLACEHOLDER in line:
                yield Hit(cell, number, f"unfilled place: {line.strip().lstrip('#').strip()}")
