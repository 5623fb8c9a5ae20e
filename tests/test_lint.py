"""Lint: each rule catches a planted defect and passes a clean notebook; our tutorials lint clean."""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT
from tutorial_gen.cli import main
from tutorial_gen.config import load_project, load_technique
from tutorial_gen.lint import RULES, Finding, lint_paths
from tutorial_gen.model import Project, RunRequest
from tutorial_gen.run.suite import run_technique


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip("\n"))


def code(text: str, *tags: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(textwrap.dedent(text).strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def foreign(folder: Path, *cells: nbformat.NotebookNode) -> Path:
    """A notebook we did not write: a title, then `cells`."""
    path = folder / "foreign.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[md("# A notebook"), *cells]), path)
    return path


def of(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def test_every_rule_is_kebab_case_with_message_and_hint():
    assert len(RULES) >= 11
    for rule_id, rule in RULES.items():
        assert rule_id == rule.id and rule_id.replace("-", "").isalpha() and rule_id.islower()
        assert rule.message and rule.hint and "\n" not in rule.message + rule.hint


# Notebooks we did not write: (rule, cells). The fixture project pins numpy==2.4.6 only.
PIP = 'import subprocess, sys\nsubprocess.run([sys.executable, "-m", "pip", "install", "{}"], check=True)'
ENV = 'import os\nos.environ["TF_USE_LEGACY_KERAS"] = "1"'
TFMOT = "import tensorflow_model_optimization as tfmot"
DEFECTS = {
    "setup-pins: nothing installs it": ("setup-pins", [code("import numpy as np")]),
    "setup-pins: what it installs does not bring it": (
        "setup-pins",
        [code("%pip install -q numpy==2.4.6"), code("import numpy\nimport matplotlib")],
    ),
    "legacy-keras: tf.keras before tfmot": (
        "legacy-keras",
        [code("import tensorflow as tf\nmodel = tf.keras.Sequential()"), code(TFMOT)],
    ),
    "legacy-keras: keras from tensorflow, used": (
        "legacy-keras",
        [code("from tensorflow import keras\nlayer = keras.layers.Dense(1)\n" + TFMOT)],
    ),
    "legacy-keras: tensorflow.keras imported": (
        "legacy-keras",
        [code("from tensorflow.keras import layers"), code(TFMOT)],
    ),
    "legacy-keras: set too late": (
        "legacy-keras",
        [code("import tensorflow as tf\nlayer = tf.keras.layers.Dense(1)"), code(ENV), code(TFMOT)],
    ),
    "legacy-keras: set to 0": (
        "legacy-keras",
        [
            code(
                ENV.replace('"1"', '"0"')
                + "\nimport tensorflow as tf\ntf.keras.Input((2,))\n"
                + TFMOT
            )
        ],
    ),
    "pip-magic: !pip": ("pip-magic", [code("!pip install numpy==2.4.6")]),
    "pip-magic: !python -m pip": ("pip-magic", [code("! python3 -m pip install -q numpy==2.4.6")]),
    "absolute-path: /tmp": ("absolute-path", [code('data = open("/tmp/data.csv").read()')]),
    "absolute-path: f-string": ("absolute-path", [code('log_dir = f"/tmp/logs/{run}"')]),
    "absolute-path: Windows": ("absolute-path", [code('path = "C:\\\\Users\\\\me\\\\model.h5"')]),
    "absolute-path: shell": ("absolute-path", [code("!ls /content/drive", "skip-execution")]),
    "cwd-write: open w": ("cwd-write", [code('with open("out.txt", "w") as f:\n    f.write("x")')]),
    "cwd-write: open mode=a": ("cwd-write", [code('open("log.txt", mode="a").write("x")')]),
    "cwd-write: model.save": ("cwd-write", [code('model.save("model.h5")')]),
    "cwd-write: save_model": ("cwd-write", [code('keras.models.save_model(model, "m.h5")')]),
    "cwd-write: np.save": ("cwd-write", [code('np.save("weights.npy", weights)')]),
    "cwd-write: savefig": ("cwd-write", [code('plt.savefig("plot.png")')]),
    "cwd-write: Path.write_text": ("cwd-write", [code('Path("notes.md").write_text("x")')]),
    "cwd-write: a variable": ("cwd-write", [code('path = "model.h5"'), code("model.save(path)")]),
    "cwd-write: an f-string": ("cwd-write", [code('open(f"{name}.tflite", "wb").write(model)')]),
    "cwd-write: an f-string of a literal": (
        "cwd-write",
        [code('name = "pruned"\nwith open(f"{name}.tflite", "wb") as f:\n    f.write(model)')],
    ),
    "cwd-write: a relative folder": (
        "cwd-write",
        [code('model.save(os.path.join("models", "m.keras"))')],
    ),
    "shell-cell: !cmd": ("shell-cell", [code("!ls data")]),
    "shell-cell: %pip": ("shell-cell", [code("%pip install numpy==2.4.6")]),
    "shell-cell: %load_ext": ("shell-cell", [code("%load_ext tensorboard")]),
    "shell-cell: %%bash": ("shell-cell", [code("%%bash\nfalse")]),
    "shell-cell: assigned": ("shell-cell", [code("files = !ls")]),
    "shell-cell: no_execute is a comment elsewhere": (
        "shell-cell",
        [code("x = 1  # docs_infra: no_execute\n!ls")],
    ),
    "network: keras dataset": ("network", [code("data = tf.keras.datasets.mnist.load_data()")]),
    "network: keras dataset by name": (
        "network",
        [code("mnist = keras.datasets.mnist\n(x, y), _ = mnist.load_data()")],
    ),
    "network: tfds": (
        "network",
        [code("import tensorflow_datasets as tfds\nds = tfds.load('cifar10', split='train')")],
    ),
    "network: get_file": (
        "network",
        [code('path = tf.keras.utils.get_file("a.zip", "https://example.com/a.zip")')],
    ),
    "network: hf_hub_download": (
        "network",
        [code('hf_hub_download(repo_id="org/model", filename="model.tflite")')],
    ),
    "network: urlopen": (
        "network",
        [code('import urllib.request\nurllib.request.urlopen("https://example.com/x")')],
    ),
    "network: urlretrieve": (
        "network",
        [code('from urllib.request import urlretrieve\nurlretrieve(URL, "x.zip")')],
    ),
    "network: requests": ("network", [code('import requests\nrequests.get("https://x.org")')]),
    "network: wget": ("network", [code("!wget -q https://example.com/data.zip")]),
    "network: curl": ("network", [code("!curl -LO https://example.com/data.zip")]),
    "tensorboard: %load_ext": ("tensorboard", [code("%load_ext tensorboard")]),
    "tensorboard: %tensorboard, even not executed": (
        "tensorboard",
        [code("#docs_infra: no_execute\n%tensorboard --logdir={logdir}")],
    ),
    "tensorboard: PruningSummaries": (
        "tensorboard",
        [code("cb = tfmot.sparsity.keras.PruningSummaries(log_dir=logdir)")],
    ),
    "tensorboard: keras callback": (
        "tensorboard",
        [code("%pip install tensorflow==2.21.0"), code("cb = keras.callbacks.TensorBoard(d)")],
    ),
    "tensorboard: import": ("tensorboard", [code("from tensorboard.plugins import projector")]),
    "tflite-interpreter: tf.lite": (
        "tflite-interpreter",
        [code("interpreter = tf.lite.Interpreter(model_content=m)")],
    ),
    "tflite-interpreter: imported": (
        "tflite-interpreter",
        [code("from tensorflow.lite import Interpreter\ninterpreter = Interpreter(model_path=p)")],
    ),
    "device: adb": ("device", [code("! adb shell /data/local/tmp/benchmark_model --num_runs=10")]),
    "syntax": ("syntax", [code("def f(:\n    pass")]),
    "seeds: tensorflow, no seed": ("seeds", [code("import tensorflow as tf")]),
    "seeds: seeded after fit": (
        "seeds",
        [code("model.fit(x, y)"), code("keras.utils.set_random_seed(1)")],
    ),
    "seeds: numpy left unseeded": (
        "seeds",
        [code("import numpy as np\nimport tensorflow as tf\ntf.random.set_seed(1)\nmodel.fit(x)")],
    ),
    "unbacked-number: ratio": ("unbacked-number", [md("Pruning makes it 3x smaller.")]),
    "unbacked-number: percent": ("unbacked-number", [md("Accuracy reaches 95.2% here.")]),
    "unbacked-number: points": ("unbacked-number", [md("It stays within 0.5 point of it.")]),
    "unbacked-number: latency": ("unbacked-number", [md("Inference takes 12 ms.")]),
    "unbacked-number: latency in us": ("unbacked-number", [md("Inference takes *17us* on it.")]),
    "unbacked-number: latency in usec": ("unbacked-number", [md("It takes 5 usec less.")]),
    "unbacked-number: cited elsewhere": (
        "unbacked-number",
        [md("The [guide](https://www.tensorflow.org/x) has details. It gets 4x smaller.")],
    ),
    "qualitative-claim: minimal loss": (
        "qualitative-claim",
        [md("There is minimal loss in test accuracy after pruning.")],
    ),
    "qualitative-claim: no loss": ("qualitative-claim", [md("Quantized, it has no loss.")]),
    "qualitative-claim: little to no loss": (
        "qualitative-claim",
        [md("You see little to no loss in accuracy.")],
    ),
    "qualitative-claim: much smaller": ("qualitative-claim", [md("The file is much smaller.")]),
    "qualitative-claim: negligible": ("qualitative-claim", [md("The cost is negligible.")]),
    "qualitative-claim: accuracy difference": (
        "qualitative-claim",
        [md("A 4x smaller model for MNIST,\nwith minimal accuracy\ndifference.")],
    ),
    "qualitative-claim: small drop": (
        "qualitative-claim",
        [md("Expect a small drop in accuracy.")],
    ),
    "dead-link: markdown": (
        "dead-link",
        [md("See [the board](https://tensorboard.dev/experiment/abc/).")],
    ),
    "dead-link: named twice in one link": (
        "dead-link",
        [md("On [TensorBoard.dev](https://tensorboard.dev/).")],
    ),
    "dead-link: subdomain in code": ("dead-link", [code('url = "https://x.tensorboard.dev/a"')]),
    "link: double parentheses": (
        "link",
        [md("Once backends [enable it]((https://github.com/tensorflow/a/issues/173)), ...")],
    ),
    "link: unbalanced target": ("link", [md("See [the page](https://example.com/a_(b).")]),
    "link: no opening bracket": ("link", [md("See the page](https://example.com/a).")]),
    "link: space before the target": ("link", [md("See [the page] (https://example.com/a).")]),
    "heading: ##Heading": ("heading", [md("##Results")]),
    "heading: #Heading": ("heading", [md("Intro.\n\n#Results")]),
    "heading: two titles": ("heading", [md("# Another title")]),
    "placeholder: prose": ("placeholder", [md("TODO(tutorial-gen): say what you learn.")]),
    "placeholder: code": ("placeholder", [code("model = None  # TODO(tutorial-gen) pick one")]),
    "parameters": (
        "parameters",
        [code("epochs = 2  # passes over the data; 1 = quick\nseed = 0  # fixed", "parameters")],
    ),
}
CONTINUED = 'value = 3.0\nprint("Size of the model: %.2f bytes"\n      % (value))'
ADB = "! adb shell /data/local/tmp/benchmark_model \\\n    --graph=/data/local/tmp/m.tflite \\\n    --num_threads=1"
CLEAN = {
    "setup-pins": (
        "setup-pins",
        [code(PIP.format("numpy==2.4.6")), code("import numpy, os, json")],
    ),
    "setup-pins: TESTED_VERSIONS": (
        "setup-pins",
        [code('TESTED_VERSIONS = {"numpy": "2.4.6"}'), code("import numpy\nimport IPython")],
    ),
    "setup-pins: shell": (
        "setup-pins",
        [code('!pip install -q "numpy==2.4.6"'), code("import numpy")],
    ),
    "setup-pins: unpinned is the notebook's own business": (
        "setup-pins",
        [code("!pip install numpy"), code("import numpy")],
    ),
    "setup-pins: brought by what it installs": (
        "setup-pins",
        [
            code("%pip install -q tensorflow-model-optimization"),
            code("import tensorflow as tf\nimport numpy as np\nimport tf_keras as keras"),
        ],
    ),
    "legacy-keras": (
        "legacy-keras",
        [code(ENV), code("import tensorflow as tf\nmodel = tf.keras.Sequential()\n" + TFMOT)],
    ),
    "legacy-keras: %env": (
        "legacy-keras",
        [code("%env TF_USE_LEGACY_KERAS=1"), code("import tensorflow as tf\ntf.keras.Input((1,))")],
    ),
    "legacy-keras: setdefault": (
        "legacy-keras",
        [
            code(
                'import os\nos.environ.setdefault("TF_USE_LEGACY_KERAS", "1")\n'
                "import tensorflow as tf\ntf.keras.Input((1,))\n" + TFMOT
            )
        ],
    ),
    "legacy-keras: tfmot sets it": ("legacy-keras", [code("import tensorflow as tf\n" + TFMOT)]),
    "legacy-keras: tf_keras": (
        "legacy-keras",
        [code("import tensorflow as tf\nimport tf_keras as keras\nkeras.Input((1,))\n" + TFMOT)],
    ),
    "legacy-keras: tfmot's compat keras": (
        "legacy-keras",
        [
            code(
                "import tensorflow as tf\n"
                "from tensorflow_model_optimization.python.core.keras.compat import keras"
            ),
            code("data = tf.keras.datasets.mnist.load_data()\nmodel = keras.Sequential()"),
        ],
    ),
    "legacy-keras: keras from tensorflow, used after tfmot": (
        "legacy-keras",
        [code("from tensorflow import keras\n" + TFMOT), code("model = keras.Sequential()")],
    ),
    "legacy-keras: keras from tensorflow, rebound before use": (
        "legacy-keras",
        [
            code(
                "from tensorflow import keras\nimport tf_keras as keras\nkeras.Input((1,))\n"
                + TFMOT
            )
        ],
    ),
    "legacy-keras: no tfmot": (
        "legacy-keras",
        [code("import tensorflow as tf\ntf.keras.Input((1,))")],
    ),
    "pip-magic": (
        "pip-magic",
        [
            code("%pip install numpy==2.4.6\n!{sys.executable} -m pip install numpy==2.4.6"),
            code(PIP.format("numpy==2.4.6") + "\n!pip list\n!pipx install x"),
        ],
    ),
    "absolute-path": (
        "absolute-path",
        [
            code('url = "https://example.com/a/b"\nwith tf.device("/device:CPU:0"):\n    pass'),
            code('path = os.path.join(tempfile.mkdtemp(), "x")\nratio = "a / b"'),
            code(ADB),  # a path on the phone
        ],
    ),
    "cwd-write": (
        "cwd-write",
        [
            code('text = open("data.txt").read()\nmodel.save(os.path.join(workdir, "m.h5"))'),
            code('with open(os.path.join(workdir, "out.txt"), "w") as f:\n    f.write("x")'),
            code('_, path = tempfile.mkstemp(".h5")\nmodel.save(path)'),
            code('path = os.path.join(tempfile.mkdtemp(), "m.h5")\nmodel.save(path)'),
            code('open(f"{workdir}/m.tflite", "wb")\nfor name in names:\n    np.save(name, x)'),
            code('def save(model, path):\n    model.save(path)\n    open(f"{path}.tflite", "wb")'),
        ],
    ),
    "shell-cell": (
        "shell-cell",
        [
            code("!pip install numpy==2.4.6\n%load_ext tensorboard", "skip-execution"),
            code("%matplotlib inline\n%env A=1\nx = 10 % 3"),
            code("#docs_infra: no_execute\n%tensorboard --logdir={log_dir}"),
            code(CONTINUED),
            code('text = """\n!not a command\n"""'),
            code("!pip install numpy==2.4.6\n" + ADB),  # pip-magic and device report these
        ],
    ),
    "network": (
        "network",
        [
            code("data = keras.datasets.fashion_mnist.load_data()"),
            code("data = tf.keras.datasets.mnist.load_data()", "skip-execution"),
            code("#docs_infra: no_execute\nds = tfds.load('mnist')"),
            code("data = np.load(path)\nresponse = session.get(key)"),
        ],
    ),
    "tensorboard": (
        "tensorboard",
        [
            code("%pip install -q tensorboard==2.20.0"),
            code("%load_ext tensorboard\ncb = tfmot.sparsity.keras.PruningSummaries(log_dir=d)"),
            md("The `PruningSummaries` callback logs to TensorBoard."),
        ],
    ),
    "tflite-interpreter": (
        "tflite-interpreter",
        [
            code(
                "from ai_edge_litert.interpreter import Interpreter\nInterpreter(model_content=m)"
            ),
            code("converter = tf.lite.TFLiteConverter.from_keras_model(model)"),
        ],
    ),
    "device": (
        "device",
        [code(ADB, "skip-execution"), code("#docs_infra: no_execute\n" + ADB), md("Run `adb`.")],
    ),
    "syntax": (
        "syntax",
        [code(CONTINUED), code(ADB), code("%%bash\nif then fi"), code("x = 1")],
    ),
    "seeds": (
        "seeds",
        [code("keras.utils.set_random_seed(1)"), code("import tensorflow\nmodel.fit(x)")],
    ),
    "seeds: tf and numpy": (
        "seeds",
        [
            code(
                "import numpy as np\nimport tensorflow as tf\ntf.random.set_seed(1)\nnp.random.seed(1)"
            ),
            code("model.fit(x)"),
        ],
    ),
    "seeds: does not train": ("seeds", [code("import numpy as np\nprint(np.pi)")]),
    "unbacked-number": (
        "unbacked-number",
        [
            md("Images are 28x28 pixels and kernels 3x3; `sparsity = 80%` and `3x` are code."),
            md("## 2. Train\n\n1. first\n2. second\n\nSee [this](https://example.com/80%25)."),
            md("The published guide reports 3x smaller models\nand 95% accuracy."),
            md("The [guide](https://www.tensorflow.org/model_optimization) reports 3x."),
            md("On [GitHub](https://github.com/tensorflow/model-optimization): 10x."),
            md("```\nacc = 95%\n```"),
            md(
                "Start with 25% sparsity (25% of the weights are set to zero), end at 75% sparsity."
            ),
            md(
                "Prune with the target sparsity of 50%.\n\nStart with 50% sparsity (50% zeros in weights)."
            ),
            md("Use 1x1 convolutions; thus us and 2 users."),
        ],
    ),
    "qualitative-claim": (
        "qualitative-claim",
        [
            md('The example reports "minimal to no loss in test accuracy" on MNIST.'),
            md("The published guide sees minimal loss in accuracy."),
            md("Pick no loss function; a smaller model, a little faster, with little change."),
            md("```\nnegligible = 'much smaller'\n```\nAnd `no loss` is code."),
        ],
    ),
    "dead-link": (
        "dead-link",
        [md("[TensorBoard](https://www.tensorflow.org/tensorboard), tensorboard.devices")],
    ),
    "link": (
        "link",
        [
            md("See [A](https://en.wikipedia.org/wiki/A_(b)) and [B](https://x.org 'title')."),
            md("[![badge](https://x.org/b.svg)](https://x.org) in [0, 1] (inclusive)."),
            md("A [link text\nover two lines](https://x.org) and `](( ` in code."),
            md("Checklist:\n\n- [ ] one\n- [x] two"),
        ],
    ),
    "heading": (
        "heading",
        [md("## Results\n\n#### Details"), md("```\n#comment\n# x\n```\nUse `#tag`.")],
    ),
    "placeholder": ("placeholder", [md("Nothing to do (TODO later).")]),
    "parameters": (
        "parameters",
        [
            code(
                "epochs = 2  # passes over the data (1: quick)\nsizes = [\n    1,\n    2,\n]",
                "parameters",
            ),
            code("other = 1  # not the parameters cell; 1 = one"),
        ],
    ),
}


@pytest.mark.parametrize(("rule", "cells"), DEFECTS.values(), ids=DEFECTS.keys())
def test_planted_defect_is_found(project, tmp_path, rule, cells):
    [finding] = of(lint_paths([foreign(tmp_path, *cells)], project), rule)
    assert finding.line is None and finding.cell >= 2  # foreign notebooks: cell numbers
    assert str(finding).startswith(
        f"{tmp_path.resolve() / 'foreign.ipynb'}:cell {finding.cell}: {rule} "
    )
    assert str(finding).endswith(f"({finding.hint})")


@pytest.mark.parametrize(("rule", "cells"), CLEAN.values(), ids=CLEAN.keys())
def test_clean_notebook_passes(project, tmp_path, rule, cells):
    assert of(lint_paths([foreign(tmp_path, *cells)], project), rule) == []


def test_every_rule_has_a_defect_and_a_clean_case():
    # they need technique.toml: tested on scripts, below and in test_lint_rules.py
    on_scripts_only = {"journey", "profile-parameter", "unassigned-metric", "claim-phrase"}
    assert {r for r, _ in DEFECTS.values()} == set(RULES) - on_scripts_only
    assert {r for r, _ in CLEAN.values()} == set(RULES) - on_scripts_only


# --------------------------------------------------------------------------- our scripts


def _insert(script: Path, after: str, text: str) -> int:
    """Insert `text` after the line `after` of a script; return the line number of its first line."""
    lines = script.read_text(encoding="utf-8").splitlines()
    at = lines.index(after) + 1
    lines[at:at] = textwrap.dedent(text).strip("\n").splitlines()
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return at + 1


def test_fixture_technique_and_notebooks_dir_lint_clean(project, tiny):
    assert lint_paths([tiny], project) == []
    assert lint_paths([], project) == []  # every technique


def test_every_shipped_notebook_lints_clean():
    assert lint_paths([ROOT / "notebooks"], load_project(ROOT)) == []


def test_findings_in_a_script_point_at_script_lines(project, tiny):
    script = tiny / "tiny.py"
    intro = _insert(script, "#", "# It is 5x faster, too.")  # the intro, after the title's blank
    prose = _insert(script, "# Helpers come from a shared snippet.", "#\n# ##Helpers")
    line = _insert(script, "import numpy as np", 'np.save("squares.npy", np.arange(3))')
    findings = lint_paths([script], project)
    assert [(f.rule, f.line) for f in findings] == [
        ("unbacked-number", intro),
        ("heading", prose + 1),
        ("cwd-write", line),
    ]
    lines = script.read_text(encoding="utf-8").splitlines()
    assert "5x" in lines[intro - 1] and 'np.save("squares.npy"' in lines[line - 1]


def test_findings_in_generated_cells_point_at_cell_numbers(project, tiny, repo):
    snippet = repo / "notebooks" / "_snippets" / "helpers.py"
    snippet.write_text(snippet.read_text(encoding="utf-8") + 'LOG = "/tmp/tiny.log"\n')
    [finding] = lint_paths([tiny / "tiny.py"], project)
    assert finding.rule == "absolute-path" and finding.line is None
    assert f"tiny.py:cell {finding.cell}: absolute-path " in str(finding)


def test_claim_phrases_back_numbers_of_their_notebook_only(project, tiny):
    # tiny's claims have the phrase "4x bigger": case and line breaks do not matter
    _insert(tiny / "tiny.py", "# Helpers come from a shared snippet.", "# Again 4X\n# bigger.")
    assert lint_paths([tiny / "tiny.py"], project) == []
    line = _insert(
        tiny / "sweep.py", "# Squares and cubes of two starting numbers.", "# 4x bigger."
    )
    [finding] = lint_paths([tiny / "sweep.py"], project)  # the claims are tiny's, not sweep's
    assert (finding.rule, finding.line) == ("unbacked-number", line)
    assert finding.message.startswith("'4x': no claim of technique.toml checks it")


def test_placeholder_in_a_scaffolded_script(project, tiny):
    script = tiny / "tiny.py"
    prose = _insert(script, "# Helpers come from a shared snippet.", "# TODO(tutorial-gen): why")
    code_line = _insert(script, "import time", "# TODO(tutorial-gen) load the data")
    findings = lint_paths([script], project)
    assert [(f.rule, f.line, f.hint) for f in findings] == [
        ("placeholder", prose, "fill in or remove"),
        ("placeholder", code_line, "fill in or remove"),
    ]


def test_a_paired_notebook_is_linted_through_its_script(project, tiny):
    # A stale or hand-edited .ipynb beside the script does not matter: the script is the source.
    foreign(tiny, md("##Bad heading")).rename(tiny / "tiny.ipynb")
    findings = lint_paths([tiny / "tiny.ipynb"], project)
    assert findings == []
    _insert(tiny / "tiny.py", "import numpy as np", 'open("x.txt", "w")')
    [finding] = lint_paths([tiny / "tiny.ipynb", tiny / "tiny.py"], project)  # linted once
    assert finding.path == (tiny / "tiny.py").resolve()


# --------------------------------------------------------------------------- journey

TF_PINS = '"numpy==2.4.6", "tensorflow==2.21.0", "tf-keras==2.21.0", "tensorflow-model-optimization==0.8.1"'
HEAD = """
# %% [markdown]
# # A technique

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

keras.utils.set_random_seed(1)
"""
BASELINE = "\n# %%\nbaseline.fit(x, y)\n"
PRUNE = "\n# %%\npruned = tfmot.sparsity.keras.prune_low_magnitude(baseline)\npruned.fit(x, y)\n"
EVALUATE = "\n# %%\n_, accuracy = pruned.evaluate(x, y)\n"
EXPORT = "\n# %%\nconverter = tf.lite.TFLiteConverter.from_keras_model(pruned)\nmodel = converter.convert()\n"
MEASURE = "\n# %%\nsize = zipped_size(path)\n"


def _tutorial(
    repo: Path, body: str, role: str = "tutorial", header: str = ""
) -> tuple[Path, Project]:
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace('"numpy==2.4.6"', TF_PINS), encoding="utf-8"
    )
    folder = repo / "notebooks" / "demo"
    folder.mkdir()
    (folder / "technique.toml").write_text(
        f'[technique]\nname = "Demo"\ndescriptor = "demo"\n{header}\n'
        f'[[notebooks]]\nscript = "demo.py"\nrole = "{role}"\n',
        encoding="utf-8",
    )
    (folder / "demo.py").write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return folder / "demo.py", load_project(repo)


def _journey(repo: Path, body: str, role: str = "tutorial", header: str = "") -> list[str]:
    script, project = _tutorial(repo, body, role, header)
    return [f.message for f in lint_paths([script], project)]


def test_a_complete_journey_passes(repo):
    assert _journey(repo, HEAD + BASELINE + PRUNE + EVALUATE + EXPORT + MEASURE) == []


def test_post_training_quantization_counts_as_the_technique(repo):
    ptq = "\n# %%\nconverter = tf.lite.TFLiteConverter.from_keras_model(baseline)\n"
    ptq += "converter.optimizations = [tf.lite.Optimize.DEFAULT]\nquantized = converter.convert()\n"
    measure = "\n# %%\nacc = tflite_accuracy(quantized, x, y)\nsize = file_size(path)\n"
    assert _journey(repo, HEAD + BASELINE + ptq + measure) == []


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        (HEAD + PRUNE + BASELINE + EVALUATE + EXPORT + MEASURE, ["no baseline"]),
        (HEAD + BASELINE + EVALUATE + EXPORT + MEASURE, ["no technique step"]),
        (HEAD + BASELINE + PRUNE + EXPORT + MEASURE, ["no evaluation"]),
        (HEAD + BASELINE + PRUNE + EVALUATE, ["no export", "no measurement"]),
        (HEAD + BASELINE + PRUNE + EVALUATE + MEASURE + EXPORT, ["no measurement"]),
    ],
    ids=["baseline", "technique", "evaluation", "export", "measurement"],
)
def test_a_missing_journey_step_is_named(repo, body, missing):
    messages = _journey(repo, body)
    assert len(messages) == len(missing)
    assert all(m.startswith(p) for m, p in zip(messages, missing, strict=True)), messages


LOWRANK = "\n# %%\nlowrank = factorize_dense(baseline, rank=8)\nlowrank.fit(x, y)\n"


def test_a_technique_of_its_own_is_applied_by_the_calls_technique_toml_names(repo):
    body = HEAD + BASELINE + LOWRANK + EVALUATE + EXPORT + MEASURE
    declared = 'technique_calls = ["factorize_dense"]\n'
    assert _journey(repo, body, header=declared) == []


def test_a_technique_of_its_own_is_no_step_unless_declared(repo):
    script, project = _tutorial(repo, HEAD + BASELINE + LOWRANK + EVALUATE + EXPORT + MEASURE)
    [finding] = lint_paths([script], project)
    assert finding.message.startswith("no technique step: nothing calls tfmot")
    assert 'technique_calls = ["factorize_dense"]' in finding.hint


# Snippets of the fixture project whose helpers export and measure: ours, and one whose helpers
# reach the converter and the file's size only through other functions of theirs.
NESTED = """
import os


def to_tflite(model):
    return _convert(model)


def _convert(model):
    return TFLiteConverter(model).convert()


def measure_tflite(model, *rest):
    return {"size": _weigh(model)}


def _weigh(path):
    return os.path.getsize(path)
"""
SNIPPETS = {
    "ours": {
        name: (ROOT / "notebooks" / "_snippets" / f"{name}.py").read_text(encoding="utf-8")
        for name in ("measure", "convert")
    },
    "nested": {"shipping": NESTED},
}
THROUGH_HELPERS = (
    "\n# %%\ntflite_model = to_tflite(pruned)\n"
    '\n# %%\nmeasured = measure_tflite(tflite_model, x, y, folder, "pruned.tflite")\n'
)


@pytest.mark.parametrize("snippets", SNIPPETS.values(), ids=SNIPPETS.keys())
def test_the_snippets_helpers_export_and_measure(repo, snippets):
    body = HEAD + BASELINE + PRUNE + EVALUATE + THROUGH_HELPERS
    script, project = _tutorial(repo, body)
    messages = [f.message for f in lint_paths([script], project)]
    assert [m.split(" (")[0] for m in messages] == [
        "no export",
        "no measurement of the exported file",
    ]
    for name, text in snippets.items():
        (repo / "notebooks" / "_snippets" / f"{name}.py").write_text(text, encoding="utf-8")
    assert lint_paths([script], project) == []


@pytest.mark.parametrize(
    ("body", "role"),
    [(HEAD + BASELINE, "guide"), ("# %% [markdown]\n# # Plain\n\n# %%\nprint(1)\n", "tutorial")],
    ids=["guide", "no TensorFlow"],
)
def test_journey_applies_to_tensorflow_tutorials_only(repo, body, role):
    assert _journey(repo, body, role) == []


# --------------------------------------------------------------------------- skip-execution


SKIPPED_CELL = """
# %% tags=["skip-execution"]
# %pip install --quiet tensorboard
# %load_ext tensorboard
raise RuntimeError("a skip-execution cell ran")
"""


def test_skip_execution_cells_are_not_linted_and_not_run(project, tiny, tmp_path):
    script = tiny / "tiny.py"
    script.write_text(script.read_text(encoding="utf-8") + SKIPPED_CELL, encoding="utf-8")
    assert lint_paths([script], project) == []
    report = run_technique(
        load_technique(tiny), project, RunRequest(build_dir=tmp_path / "b"), stems=["tiny"]
    )
    [run] = report.runs
    assert run.status == "ok", run.error
    executed = nbformat.read(run.executed, as_version=4)
    [skipped] = [c for c in executed.cells if "skip-execution" in c.metadata.get("tags", [])]
    assert skipped.execution_count is None and skipped.outputs == []

    untagged = SKIPPED_CELL.replace(' tags=["skip-execution"]', "")
    script.write_text(
        script.read_text(encoding="utf-8").replace(SKIPPED_CELL, untagged), encoding="utf-8"
    )
    lines = script.read_text(encoding="utf-8").splitlines()
    expected = [n for n, line in enumerate(lines, 1) if line.startswith(("# %pip", "# %load"))]
    assert [(f.rule, f.line) for f in lint_paths([script], project)] == [
        ("shell-cell", n) for n in expected
    ]


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def in_repo(repo, monkeypatch):
    monkeypatch.chdir(repo)
    return repo


def test_cli_prints_one_line_per_finding_and_exits_1(in_repo, capsys):
    script = in_repo / "notebooks" / "tiny" / "tiny.py"
    line = _insert(script, "import numpy as np", 'plt.savefig("plot.png")')
    assert main(["lint"]) == 1
    out = capsys.readouterr().out
    hint = RULES["cwd-write"].hint
    assert out == (
        f"notebooks/tiny/tiny.py:{line}: cwd-write writes 'plot.png' into the working directory "
        f"({hint})\n"
    )


def test_cli_clean_exits_0_and_exclude_skips_a_rule(in_repo, capsys):
    assert main(["lint", "notebooks/tiny"]) == 0
    assert capsys.readouterr().out == ""
    _insert(in_repo / "notebooks" / "tiny" / "tiny.py", "import numpy as np", 'open("/tmp/x")')
    assert main(["lint", "notebooks"]) == 1
    assert main(["lint", "--exclude", "absolute-path", "--exclude", "seeds"]) == 0


def test_cli_unknown_rule_is_a_usage_error_with_suggestion(in_repo, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["lint", "--exclude", "dead-links"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unknown rule 'dead-links' (did you mean 'dead-link'?)" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.ipynb", b'{"cells": [', "bad.ipynb: is not a notebook: not JSON"),
        ("list.ipynb", b"[1, 2]", "list.ipynb: is not a valid notebook"),
        ("old.ipynb", b'{"cells": [], "nbformat": 4}', "old.ipynb: is not a valid notebook"),
        ("latin.ipynb", '{"a": "\u00e9"}'.encode("latin-1"), "latin.ipynb: is not UTF-8"),
        ("latin.py", "# %%\n# caf\u00e9\n".encode("latin-1"), "latin.py: is not UTF-8"),
        ("empty.py", b"\n\n", "empty.py: the script is empty"),
        ("gone.ipynb", None, "gone.ipynb: does not exist"),
    ],
)
def test_cli_unreadable_input_is_one_line_exit_2(in_repo, capsys, name, content, message):
    if content is not None:
        (in_repo / name).write_bytes(content)
    assert main(["lint", name]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
    assert "Traceback" not in err


def test_journey_counts_a_quantizing_conversion_as_the_technique():
    import ast

    from tutorial_gen.lint.rules.training import _quantizing_conversion

    def call(text):
        return ast.parse(text).body[0].value

    assert _quantizing_conversion(call('to_tflite(model, "int8", x)'))
    assert _quantizing_conversion(call('to_tflite(model, mode="dynamic")'))
    assert not _quantizing_conversion(call("to_tflite(model)"))
    assert not _quantizing_conversion(call('to_tflite(model, "float")'))


def test_a_sparsity_target_is_a_setting_but_a_result_is_not():
    from tutorial_gen.lint.rules.prose import _ASSERTED_NUMBER, _SETTING

    def flagged(text):
        return [
            m.group() for m in _ASSERTED_NUMBER.finditer(text) if not _SETTING.match(text, m.end())
        ]

    assert flagged("prune to 50%, 75% and 90% final sparsity") == []
    assert flagged("it keeps 80% of its accuracy") == ["80%"]


def test_system_files_are_not_machine_bound_paths():
    from tutorial_gen.lint.rules.files import _ABSOLUTE, _SYSTEM_FILES

    assert _ABSOLUTE.match("/proc/cpuinfo") and "/proc/cpuinfo".startswith(_SYSTEM_FILES)
    assert not "/tmp/model.h5".startswith(_SYSTEM_FILES)
