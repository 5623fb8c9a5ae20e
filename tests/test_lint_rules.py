"""Lint rules in detail: what their findings say, where they point, how fast they read."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from test_lint import _insert, code, foreign, md, of

from tutorial_gen.build import ipython_to_python
from tutorial_gen.build.script import ipython_commands
from tutorial_gen.config import load_technique
from tutorial_gen.errors import ConfigError
from tutorial_gen.lint import Cell, Document, lint_document, lint_paths
from tutorial_gen.run.preflight import preflight


def _messages(project, tmp_path: Path, rule: str, *cells) -> list[str]:
    return [f.message for f in of(lint_paths([foreign(tmp_path, *cells)], project), rule)]


# --------------------------------------------------------------------------- IPython lines


def test_a_percent_continuing_a_statement_is_the_modulo_operator():
    source = 'print("Size: %.2f bytes"\n      % (size))\n%load_ext tensorboard\nx = (1,\n  %2)'
    assert [(c.line, c.kind, c.text) for c in ipython_commands(source)] == [
        (3, "%", "load_ext tensorboard")
    ]
    python = ipython_to_python(source).splitlines()
    assert python[1] == "      % (size))" and python[2] == "pass"


def test_a_backslash_continues_a_shell_command():
    source = "! adb shell /data/local/tmp/bench \\\n    --graph=/data/local/tmp/m.tflite\nx = 1"
    [command] = ipython_commands(source)
    assert (command.line, command.end, command.program) == (1, 2, "adb")
    assert command.text == "adb shell /data/local/tmp/bench --graph=/data/local/tmp/m.tflite"
    assert ipython_to_python(source).splitlines() == ["pass", "", "x = 1"]


def test_magics_inside_strings_and_brackets_are_python():
    source = 'doc = """\n!not a command\n"""\nf(a,\n  !b)\n# (\n!ls'
    assert [c.line for c in ipython_commands(source)] == [7]


# --------------------------------------------------------------------------- messages


def test_network_says_what_it_downloads(project, tmp_path):
    messages = _messages(
        project,
        tmp_path,
        "network",
        code('URL = "https://example.com/a.zip"\npath = keras.utils.get_file("a.zip", URL)'),
        code("import tensorflow_datasets as tfds\nds = tfds.load('cifar10')"),
        code("!wget -q https://example.com/b.tar.gz"),
        code("(x, y), _ = tf.keras.datasets.mnist.load_data()"),
    )
    assert len(messages) == 4
    assert "https://example.com/a.zip" in messages[0]
    assert "'cifar10' dataset through tensorflow_datasets" in messages[1]
    assert "https://example.com/b.tar.gz" in messages[2]
    assert "the mnist dataset" in messages[3]


def test_network_lets_the_seeded_hub_files_through_and_no_others(project, tmp_path):
    """The files `tutorial-gen datasets` lays into the Hub cache are there offline; another file
    of that repository, or another repository, is a download."""
    messages = _messages(
        project,
        tmp_path,
        "network",
        code(
            "from huggingface_hub import hf_hub_download\n"
            'REPO = "sentence-transformers/all-MiniLM-L6-v2"\n'
            'config = hf_hub_download(REPO, "config.json")\n'
            'weights = hf_hub_download(REPO, filename="model.safetensors")\n'
            'onnx = hf_hub_download(REPO, "onnx/model.onnx")\n'
            'other = hf_hub_download("bert-base-uncased", "config.json")'
        ),
    )
    assert len(messages) == 2
    assert "all-MiniLM-L6-v2/onnx/model.onnx" in messages[0]
    assert "bert-base-uncased/config.json" in messages[1]


def test_network_lets_the_seeded_imagenet_weights_through_and_no_other_file(project, tmp_path):
    """torchvision's MobileNetV2 checkpoint is in the Keras cache offline; its neighbour is not."""
    messages = _messages(
        project,
        tmp_path,
        "network",
        code(
            'URL = "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth"\n'
            'weights = keras.utils.get_file("mobilenet_v2-b0353104.pth", URL)\n'
            "resnet = keras.utils.get_file(\n"
            '    "resnet18.pth", origin="https://download.pytorch.org/models/resnet18-f37072fd.pth"\n'
            ")"
        ),
    )
    assert len(messages) == 1 and "resnet18-f37072fd.pth" in messages[0]


def test_setup_pins_on_a_foreign_notebook_speaks_of_its_own_install_cell(project, tmp_path):
    [finding] = of(
        lint_paths(
            [
                foreign(
                    tmp_path, code("!pip install -q tensorflow"), code("import tensorflow_datasets")
                )
            ],
            project,
        ),
        "setup-pins",
    )
    assert "tensorflow-datasets" in finding.message and "pyproject" not in str(finding)
    assert "the notebook's own install cell" in finding.hint


def test_legacy_keras_points_at_where_keras_3_is_reached(project, tmp_path):
    findings = of(
        lint_paths(
            [
                foreign(
                    tmp_path,
                    code(
                        "import tensorflow as tf\nimport numpy as np\nmodel = tf.keras.Sequential()"
                    ),
                    code("import tensorflow_model_optimization as tfmot"),
                )
            ],
            project,
        ),
        "legacy-keras",
    )
    assert [(f.cell, f.message.split(" ")[0]) for f in findings] == [(2, "tf.keras")]


def test_dead_link_reports_each_link_once(project, tmp_path):
    prose = md(
        "See [the results](https://tensorboard.dev/experiment/x/#scalars) on\n"
        "[TensorBoard.dev](https://tensorboard.dev/), or https://tensorboard.dev/y."
    )
    assert len(_messages(project, tmp_path, "dead-link", prose)) == 3


def test_the_device_rule_names_the_files_never_pushed(project, tmp_path):
    [message] = _messages(
        project, tmp_path, "device", code("!adb shell bench --graph=/data/local/tmp/m.tflite")
    )
    assert "nothing pushes m.tflite" in message
    pushed = code(
        "!adb push m.tflite /data/local/tmp\n!adb shell bench --graph=/data/local/tmp/m.tflite"
    )
    assert all("nothing pushes" not in m for m in _messages(project, tmp_path, "device", pushed))


def test_syntax_points_at_the_line_that_does_not_parse(project, tmp_path):
    [finding] = of(
        lint_paths([foreign(tmp_path, code("x = 1\ny = (\nz = 2\n]"))], project), "syntax"
    )
    assert finding.cell == 2 and finding.message.startswith("does not parse: ")


# --------------------------------------------------------------------------- our scripts


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("# %pip install numpy", "installs numpy without a version, not the tested numpy==2.4.6"),
        ("# %pip install -q numpy==1.26.4", "installs numpy==1.26.4, not the tested numpy==2.4.6"),
        ('TESTED_VERSIONS = {"numpy": "2.0.0"}', "installs numpy==2.0.0, not the tested"),
        ("import tensorflow_datasets", "which pyproject.toml does not pin"),
    ],
    ids=["unpinned", "wrong version", "stale TESTED_VERSIONS", "Colab happens to have it"],
)
def test_setup_pins_checks_our_scripts_against_pyproject(project, tiny, cell, message):
    _insert(tiny / "tiny.py", 'fail_at = ""', f"\n# %%\n{cell}")
    findings = of(lint_paths([tiny / "tiny.py"], project), "setup-pins")
    assert [f.message for f in findings if message in f.message], findings


def test_a_claim_in_the_sentence_backs_a_qualitative_claim(project, tiny):
    after = "# Helpers come from a shared snippet."
    _insert(tiny / "tiny.py", after, "#\n# They are 4x bigger: a negligible cost.")
    assert of(lint_paths([tiny / "tiny.py"], project), "qualitative-claim") == []
    line = _insert(tiny / "tiny.py", after, "#\n# The cost is negligible.")
    [finding] = of(lint_paths([tiny / "tiny.py"], project), "qualitative-claim")
    assert finding.line == line + 1
    assert "no claim of technique.toml measures" in finding.message


# --------------------------------------------------------------------------- technique.toml


def _edit(path: Path, old: str, new: str) -> int:
    """Replace `old` once; return the line where `new` starts."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def _declared(project, tiny, stem: str = "tiny") -> list[tuple[str, int, str]]:
    rules = {"profile-parameter", "unassigned-metric", "claim-phrase", "placeholder"}
    findings = lint_paths([tiny / f"{stem}.py"], project)
    toml = (tiny / "technique.toml").resolve()
    assert all(f.path == toml and f.cell is None for f in findings if f.rule in rules)
    return [(f.rule, f.line, f.message) for f in findings if f.rule in rules]


def test_lint_lists_every_declaration_the_script_does_not_bear_out(project, tiny):
    toml = tiny / "technique.toml"
    typo = _edit(toml, "start = 3", 'strat = 3\nfail_att = "cell"')
    growth = 'growth = "squared over start"'
    shrink = _edit(toml, growth, f'{growth}\nshrink = "x"') + 1
    # the first line naming `growth` is tiny's: sweep's own declaration is the one sweep lacks
    sweep = _edit(toml, 'results_rows = "one row', 'growth = "never set"\nresults_rows = "one row')
    phone = _edit(toml, 'id = "phone"', 'id = "phone"')
    _edit(toml, 'phrase = "squares numbers"', 'phrase = "Squares numbers"')
    assert _declared(project, tiny) == [
        (
            "profile-parameter",
            typo,
            "profile 'smoke' sets 'strat', which the parameters cell of tiny.py does not define "
            "(did you mean 'start'?)",
        ),
        (
            "profile-parameter",
            typo + 1,
            "profile 'smoke' sets 'fail_att', which the parameters cell of tiny.py does not "
            "define (did you mean 'fail_at'?)",
        ),
        (
            "unassigned-metric",
            shrink,
            "metric 'shrink' is declared for tiny.py, but the script never assigns it",
        ),
        (
            "claim-phrase",
            phone,
            "claim 'phone': the phrase \"Squares numbers\" appears in the prose of tiny.py only "
            'as "squares numbers": the case differs',
        ),
    ]
    [(rule, line, message)] = _declared(project, tiny, "sweep")
    assert (rule, line) == ("unassigned-metric", sweep) and message.startswith("metric 'growth'")


def test_preflight_refuses_the_first_problem_lint_lists(project, tiny):
    _edit(tiny / "technique.toml", 'phrase = "squares numbers"', 'phrase = "cubes numbers"')
    [(rule, line, message)] = _declared(project, tiny)
    technique = load_technique(tiny)
    with pytest.raises(ConfigError) as refused:
        preflight(technique, technique.notebooks["tiny"], "full")
    assert (refused.value.line, refused.value.message) == (line, message)
    assert rule == "claim-phrase" and message.endswith("does not appear in the prose of tiny.py")


def test_a_profile_without_a_parameters_cell_points_at_the_profile(project, tiny):
    _edit(tiny / "tiny.py", '# %% tags=["parameters"]', "# %%")
    [(rule, line, message)] = _declared(project, tiny)
    lines = (tiny / "technique.toml").read_text(encoding="utf-8").splitlines()
    assert rule == "profile-parameter" and lines[line - 1] == "[notebooks.profiles.smoke]"
    assert message.endswith("but the script has no cell tagged 'parameters'")


def test_placeholders_left_in_technique_toml_are_named_once_each(project, tiny):
    toml = tiny / "technique.toml"
    summary = _edit(toml, 'summary = "Squaring', 'summary = "TODO(tutorial-gen): what. Squaring')
    reference = (
        '[[overview.references]]\ntitle = "TODO(tutorial-gen): paper title"\nauthors = "A. Author"\n'
        'url = "https://arxiv.org/abs/1"\nvenue = "arXiv"\nyear = 2026\n'
    )
    first = _edit(
        toml,
        "[[overview.references]]",
        f"{reference}\n{reference}\n# TODO(tutorial-gen): a comment\n[[overview.references]]",
    )
    findings = [(f.rule, f.line, f.message) for f in lint_paths([tiny], project)]  # both notebooks
    assert findings == [
        (
            "placeholder",
            summary,
            "unfilled place in overview.summary: TODO(tutorial-gen): what. Squaring multiplies a number by itself.",
        ),
        (
            "placeholder",
            first + 1,
            "unfilled place in overview.references[0].title: TODO(tutorial-gen): paper title",
        ),
        (
            "placeholder",
            first + 8,  # after the first reference's six lines and a blank one
            "unfilled place in overview.references[1].title: TODO(tutorial-gen): paper title",
        ),
    ]
    assert str(lint_paths([tiny], project)[0]).endswith(
        f"technique.toml:{summary}: placeholder unfilled place in overview.summary: "
        "TODO(tutorial-gen): what. Squaring multiplies a number by itself. (fill in or remove)"
    )


# --------------------------------------------------------------------------- speed


def test_prose_rules_are_linear_in_the_text():
    # 8,000 numbers in one cell: a scan that re-reads the text for every number takes minutes
    numbers = (
        ", ".join(f"{i}%" for i in range(4000))
        + ". "
        + " ".join(f"It is {i}x smaller." for i in range(4000))
    )
    cells = [Cell(0, "markdown", "# Title"), Cell(1, "markdown", numbers)]
    start = time.perf_counter()
    findings = lint_document(Document(Path("numbers.ipynb"), cells, {}))
    assert time.perf_counter() - start < 5
    assert len(of(findings, "unbacked-number")) == 8000
