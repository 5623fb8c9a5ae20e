"""Build: a Jupytext percent script becomes a Colab-ready notebook.

The script is the source of truth. The notebook adds what a Colab reader needs and an author should
not maintain by hand: copyright and license cells, a row of buttons, the pinned install cell, and the
shared measuring snippets. The output is byte-for-byte deterministic and written only when it changes.
"""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
import importlib.metadata
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .config import Project
from .errors import CheckFailed, ConfigError, ScriptError
from .fileio import read_text, write_if_changed

SETUP_MARKER = "# tutorial-gen: setup"
INCLUDE_MARKER = re.compile(r"^# tutorial-gen: include (?P<name>[A-Za-z0-9_]+)$")
_CELL_MARKER = re.compile(r"^# %%")
# IPython-only syntax: shell (`!cmd`) and magic (`%line`, `%%cell`) lines, alone or assigned from.
IPYTHON_LINE = re.compile(r"^(?P<indent>\s*)(?:[\w.]+\s*=\s*)?(?P<kind>!|%%?)(?P<command>\S*)")

# Import names whose distribution is not found by `packages_distributions()` or is ambiguous.
_IMPORT_DISTRIBUTIONS = {"tensorflow": "tensorflow", "tf_keras": "tf-keras", "IPython": None}
# Distributions every Colab runtime (and our kernel) has; pinning them would only force restarts.
_PREINSTALLED = {"ipython", "ipykernel"}


@dataclass
class BuiltNotebook:
    """A notebook built from a script, and where each of its cells came from."""

    script: Path
    notebook: nbformat.NotebookNode
    source_lines: list[int | None] = field(default_factory=list)  # script line of each cell
    requirements: dict[str, str] = field(default_factory=dict)
    tags: list[list[str]] = field(default_factory=list)  # per cell, for runs (not committed)

    @property
    def text(self) -> str:
        return serialize(self.notebook)

    def script_line(self, cell_index: int, line_in_cell: int | None = None) -> int | None:
        """The script line of a notebook cell (and of a line inside it, when known)."""
        if not 0 <= cell_index < len(self.source_lines):
            return None
        start = self.source_lines[cell_index]
        if start is None:
            return None
        return start + (line_in_cell - 1 if line_in_cell else 0)


def serialize(notebook: nbformat.NotebookNode) -> str:
    """Canonical JSON as `nbfmt` writes it: sources as lists of lines, sorted keys, two-space
    indent, UTF-8 text, one trailing newline."""
    data = json.loads(json.dumps(notebook))
    for cell in data["cells"]:
        cell["source"] = cell["source"].splitlines(keepends=True)
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


@functools.lru_cache(maxsize=32)
def _read_percent(text: str) -> nbformat.NotebookNode:
    """Jupytext's reading of a percent script (slow: it validates every cell), once per text."""
    import jupytext  # a fifth of a second to import: a run's kernel boots meanwhile

    return jupytext.reads(text, fmt="py:percent")


def parse_script(script: Path) -> tuple[nbformat.NotebookNode, list[int | None]]:
    """Read a percent script; return its notebook and the script line where each cell's text starts."""
    text = read_text(script, ScriptError)
    if not text.strip():
        raise ScriptError(
            "the script is empty",
            path=script,
            hint="start from `tutorial-gen new` or see docs/authoring.md",
        )
    lines = text.splitlines()
    markers = [n for n, line in enumerate(lines, start=1) if _CELL_MARKER.match(line)]
    if not markers:
        raise ScriptError(
            "no `# %%` cell markers: not a Jupytext percent script", path=script, line=1
        )
    try:
        notebook = copy.deepcopy(_read_percent(text))
    except Exception as error:  # jupytext raises many types; all mean "does not parse"
        raise ScriptError(f"Jupytext cannot read it: {error}", path=script) from error
    starts: list[int | None] = []
    for index, marker in enumerate(markers):
        end = markers[index + 1] if index + 1 < len(markers) else len(lines) + 1
        start = marker + 1
        while start < end and not lines[start - 1].strip():  # Jupytext drops leading blank lines
            start += 1
        starts.append(start)
    if len(notebook.cells) == len(markers) + 1:  # text before the first marker forms a cell
        starts.insert(0, 1)
    elif len(notebook.cells) != len(markers):
        starts = [None] * len(notebook.cells)
    return notebook, starts


def ipython_to_python(source: str) -> str:
    """The cell's Python, with IPython shell and magic lines turned into `pass` (same line numbers).

    A `%%` cell magic makes the whole cell something other than Python: it becomes empty.
    """
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return ""
    return "\n".join(
        f"{match.group('indent')}pass" if (match := IPYTHON_LINE.match(line)) else line
        for line in lines
    )


def _check_syntax(
    script: Path, cells: list[nbformat.NotebookNode], starts: list[int | None]
) -> None:
    for cell, start in zip(cells, starts, strict=True):
        if cell.cell_type != "code":
            continue
        try:
            ast.parse(ipython_to_python(cell.source))
        except SyntaxError as error:
            line = (start or 1) + (error.lineno or 1) - 1 if start else None
            raise ScriptError(
                f"Python syntax error: {error.msg}",
                path=script,
                line=line,
                hint="fix the code cell; the notebook was not written",
            ) from error


@functools.lru_cache(maxsize=1024)
def _imports(source: str) -> tuple[str, ...]:
    """Top-level modules a cell imports (cached: inlined snippets recur in every notebook)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(ipython_to_python(source))):
        if isinstance(node, ast.Import):
            names.extend(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
    return tuple(names)


@functools.cache
def _installed_modules() -> dict[str, list[str]]:
    """{top-level module: distributions providing it}; read once, it is slow (every RECORD file)."""
    return importlib.metadata.packages_distributions()


def requirements_for(sources: list[str], project: Project, script: Path) -> dict[str, str]:
    """The pinned distributions a notebook's code imports: {distribution: version}."""
    installed = _installed_modules()
    required: dict[str, str] = {}
    for source in sources:
        for module in _imports(source):
            if module in sys.stdlib_module_names or module == "__future__":
                continue
            if module in _IMPORT_DISTRIBUTIONS:
                distribution = _IMPORT_DISTRIBUTIONS[module]
            else:
                candidates = installed.get(module, [])
                pinned = [d for d in candidates if _normalise(d) in project.pins]
                distribution = (pinned or candidates or [None])[0]
            if distribution is None or _normalise(distribution) in _PREINSTALLED:
                continue
            name = _normalise(distribution)
            if name not in project.pins:
                raise ScriptError(
                    f"the notebook imports '{module}' (distribution {name}), which pyproject.toml "
                    "does not pin",
                    path=script,
                    hint=f"add '{name}==<version>' to [project] dependencies",
                )
            required[name] = project.pins[name]
    return dict(sorted(required.items()))


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def setup_source(requirements: dict[str, str]) -> str:
    """The install cell: pip-install the pinned versions that are not already present."""
    pins = "\n".join(f'    "{name}": "{version}",' for name, version in requirements.items())
    return (
        "# Installs the versions this notebook was tested with; does nothing where they are present.\n"
        "import importlib.metadata\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        f"TESTED_VERSIONS = {{\n{pins}\n}}\n"
        "\n"
        "\n"
        "def installed_version(distribution):\n"
        "    try:\n"
        "        return importlib.metadata.version(distribution)\n"
        "    except importlib.metadata.PackageNotFoundError:\n"
        "        return None\n"
        "\n"
        "\n"
        "to_install = [\n"
        '    f"{name}=={version}"\n'
        "    for name, version in TESTED_VERSIONS.items()\n"
        "    if installed_version(name) != version\n"
        "]\n"
        "if to_install:\n"
        '    print("Installing", " ".join(to_install))\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *to_install], check=True)'
    )


def _github(project: Project) -> tuple[str, str]:
    match = re.fullmatch(
        r"https://github\.com/([\w.\-]+)/([\w.\-]+?)(?:\.git)?/?", project.repository
    )
    if not match:
        raise ConfigError(
            f"repository '{project.repository}' is not a https://github.com/OWNER/REPO URL",
            path=project.root / "pyproject.toml",
            hint="set [tool.tutorial_gen] repository",
        )
    return match.group(1), match.group(2)


def buttons(project: Project, ipynb: Path) -> str:
    """The Colab / GitHub / download buttons row for a notebook at `ipynb`."""
    owner, repo = _github(project)
    path = project.relpath(ipynb)
    links = [
        (
            f"https://colab.research.google.com/github/{owner}/{repo}/blob/{project.branch}/{path}",
            "https://www.tensorflow.org/images/colab_logo_32px.png",
            "Run in Google Colab",
        ),
        (
            f"https://github.com/{owner}/{repo}/blob/{project.branch}/{path}",
            "https://www.tensorflow.org/images/GitHub-Mark-32px.png",
            "View source on GitHub",
        ),
        (
            f"https://raw.githubusercontent.com/{owner}/{repo}/{project.branch}/{path}",
            "https://www.tensorflow.org/images/download_logo_32px.png",
            "Download notebook",
        ),
    ]
    cells = "\n".join(
        f'  <td>\n    <a target="_blank" href="{href}"><img src="{icon}" />{label}</a>\n  </td>'
        for href, icon, label in links
    )
    return f'<table class="tfo-notebook-buttons" align="left">\n{cells}\n</table>'


LICENSE = """#@title Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
# https://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License."""


def _cell_id(source: str, taken: set[str]) -> str:
    base = hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]
    cell_id, n = base, 1
    while cell_id in taken:
        cell_id, n = f"{base}-{n}", n + 1
    taken.add(cell_id)
    return cell_id


def build_notebook(script: Path, project: Project) -> BuiltNotebook:
    """Build the Colab notebook of one script, in memory."""
    script = script.resolve()
    parsed, starts = parse_script(script)
    cells = list(parsed.cells)
    _check_syntax(script, cells, starts)
    if not cells or cells[0].cell_type != "markdown" or not cells[0].source.startswith("# "):
        raise ScriptError(
            "the first cell must be markdown starting with '# Title'",
            path=script,
            line=starts[0] if starts else 1,
        )
    if sum("parameters" in c.metadata.get("tags", []) for c in cells) > 1:
        raise ScriptError(
            "more than one cell is tagged 'parameters'",
            path=script,
            hint="papermill injects profile values after exactly one cell",
        )

    # Inline the shared snippets at their markers.
    expanded: list[tuple[str, str, list[str], int | None]] = []  # (type, source, tags, line)
    setup_at: int | None = None
    for cell, start in zip(cells, starts, strict=True):
        source = cell.source.strip("\n")
        tags = list(cell.metadata.get("tags", []))
        if cell.cell_type == "code" and source.strip() == SETUP_MARKER:
            setup_at = len(expanded)
            continue
        match = INCLUDE_MARKER.match(source.strip()) if cell.cell_type == "code" else None
        if match:
            snippet = project.snippets_dir / f"{match.group('name')}.py"
            if not snippet.is_file():
                raise ScriptError(
                    f"snippet '{match.group('name')}' does not exist "
                    f"(looked for {project.relpath(snippet)})",
                    path=script,
                    line=start,
                )
            source = read_text(snippet, ScriptError).strip("\n")
            start = None  # its lines live in the snippet file, not in the script
        expanded.append((cell.cell_type, source, tags, start))

    code = [source for kind, source, _, _ in expanded if kind == "code"]
    requirements = requirements_for(code, project, script)
    if setup_at is None:
        setup_at = next((i for i, c in enumerate(expanded) if c[0] == "code"), len(expanded))
    expanded.insert(setup_at, ("code", setup_source(requirements), ["setup"], None))

    title_type, title_source, title_tags, title_line = expanded[0]
    title, _, intro = title_source.partition("\n")
    ipynb = script.with_suffix(".ipynb")
    head = [
        ("markdown", f"##### Copyright {project.copyright}.", [], None),
        ("code", LICENSE, [], None),
        (title_type, title, title_tags, title_line),
        ("markdown", buttons(project, ipynb), [], None),
    ]
    if intro.strip():
        skipped = len(intro) - len(intro.lstrip("\n"))  # blank lines between title and intro
        intro_line = title_line + 1 + skipped if title_line else None
        head.append(("markdown", intro.strip("\n"), [], intro_line))
    body = head + expanded[1:]

    # The TensorFlow docs' canonical form (what `nbfmt` writes): nbformat 4.0, Colab-style cell
    # ids in metadata, no tags. Tags live on in `BuiltNotebook.tags` for the run copy.
    notebook = nbformat.v4.new_notebook()
    notebook.nbformat, notebook.nbformat_minor = 4, 0
    notebook.metadata = nbformat.NotebookNode(
        {
            "colab": {"name": ipynb.name, "toc_visible": True},
            "kernelspec": {"display_name": "Python 3", "name": "python3"},
        }
    )
    taken: set[str] = set()
    source_lines: list[int | None] = []
    cell_tags: list[list[str]] = []
    for kind, source, tags, line in body:
        metadata = {"id": _cell_id(source, taken)}
        if source is LICENSE:
            metadata["cellView"] = "form"
        if kind == "code":
            cell = nbformat.NotebookNode(
                cell_type="code", execution_count=None, outputs=[], metadata=metadata, source=source
            )
        else:
            cell = nbformat.NotebookNode(cell_type="markdown", metadata=metadata, source=source)
        notebook.cells.append(cell)
        source_lines.append(line)
        cell_tags.append(tags)
    nbformat.validate(notebook)
    return BuiltNotebook(
        script=script,
        notebook=notebook,
        source_lines=source_lines,
        requirements=requirements,
        tags=cell_tags,
    )


@dataclass(frozen=True)
class BuildOutcome:
    """What `build` did with one script."""

    script: Path
    ipynb: Path
    changed: bool


def build(scripts: list[Path], project: Project, *, check: bool = False) -> list[BuildOutcome]:
    """Write (or, with `check`, compare) the paired notebook of every script.

    In check mode nothing is written; a `CheckFailed` names every notebook that is out of date.
    """
    outcomes: list[BuildOutcome] = []
    stale: list[str] = []
    for script in scripts:
        built = build_notebook(script, project)
        ipynb = script.with_suffix(".ipynb")
        if check:
            current = ipynb.read_text(encoding="utf-8") if ipynb.is_file() else None
            if current != built.text:
                stale.append(project.relpath(ipynb))
            outcomes.append(BuildOutcome(script, ipynb, current != built.text))
        else:
            outcomes.append(BuildOutcome(script, ipynb, write_if_changed(ipynb, built.text)))
    if stale:
        raise CheckFailed(
            f"{', '.join(stale)} differ from what their scripts build",
            path=stale[0],
            hint="run `tutorial-gen build` and commit the result",
        )
    return outcomes


def find_scripts(paths: list[Path], project: Project) -> list[Path]:
    """The tutorial scripts named by `paths` (files or folders); every technique's by default."""
    from .config import discover_techniques, load_technique

    if not paths:
        paths = discover_techniques(project)
    scripts: list[Path] = []
    for path in paths:
        if path.is_dir() and (path / "technique.toml").is_file():
            scripts.extend(nb.script for nb in load_technique(path).notebooks.values())
        elif path.is_dir():
            for folder in sorted(p.parent for p in path.glob("*/technique.toml")):
                scripts.extend(nb.script for nb in load_technique(folder).notebooks.values())
        elif path.suffix == ".py" and path.is_file():
            scripts.append(path)
        elif path.suffix == ".ipynb" and path.with_suffix(".py").is_file():
            scripts.append(path.with_suffix(".py"))
        else:
            raise ScriptError(
                "is not a tutorial script, a notebook with one, or a technique folder",
                path=path,
                hint="pass notebooks/<technique> or a .py script",
            )
    return sorted(dict.fromkeys(s.resolve() for s in scripts))
