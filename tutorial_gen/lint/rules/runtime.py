"""Rules about what a run needs beyond the kernel: the network, TensorBoard, a phone, an API that
still exists, and code that parses."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from ...build.script import IPythonCommand
from ...datasets import HUB_REPO, MINILM_FILES, MOBILENET_V2_ORIGIN
from ...model import Tag
from ..document import Cell, Document, dotted
from ..registry import Hit, rule
from .setup import brought_by, installs

# What a run has offline: `tutorial-gen datasets` puts the Keras dataset and the ImageNet weights
# into the Keras cache and the text model's files into the Hugging Face Hub cache.
OFFLINE_DATASETS = {"fashion_mnist"}
OFFLINE_HUB_FILES = {(HUB_REPO, name) for name in MINILM_FILES}
OFFLINE_URLS = {MOBILENET_V2_ORIGIN}  # through keras.utils.get_file
_URL = re.compile(r"(?:https?|ftp)://[^\s\"'<>]+")


def _text(doc: Document, cell: Cell, node: ast.expr | None) -> str | None:
    """The string an argument holds, literally or through a name bound to a literal."""
    if isinstance(node, ast.Name):
        bound = doc.binding(node.id, (cell.index, node.lineno, node.col_offset))
        node = bound.value if bound and isinstance(bound.value, ast.expr) else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _argument(call: ast.Call, index: int, *keywords: str) -> ast.expr | None:
    found = next((k.value for k in call.keywords if k.arg in keywords), None)
    return call.args[index] if len(call.args) > index else found


def _download(doc: Document, cell: Cell, call: ast.Call) -> str | None:
    """What a call downloads, said for a reader; None when it downloads nothing we know of."""
    position = (cell.index, call.lineno, call.col_offset)
    name = doc.resolve(dotted(call.func), position)
    parts = name.split(".")
    last = parts[-1]
    if last == "load_data" and len(parts) >= 3 and parts[-3] == "datasets":
        dataset = parts[-2]
        return None if dataset in OFFLINE_DATASETS else f"the {dataset} dataset ({name})"
    if name in {"tensorflow_datasets.load", "tensorflow_datasets.builder"}:
        dataset = _text(doc, cell, _argument(call, 0, "name"))
        return f"the '{dataset}' dataset through tensorflow_datasets" if dataset else name
    if last == "get_file":
        url = _text(doc, cell, _argument(call, 1, "origin"))
        if url in OFFLINE_URLS:
            return None
        return f"{url} ({last})" if url else f"a file ({last})"
    if last == "hf_hub_download":
        repo = _text(doc, cell, _argument(call, 0, "repo_id"))
        file = _text(doc, cell, _argument(call, 1, "filename"))
        if (repo, file) in OFFLINE_HUB_FILES:
            return None
        where = "/".join(p for p in (repo, file) if p)
        return f"{where or 'a file'} from the Hugging Face Hub"
    if last in {"urlopen", "urlretrieve"} or name in {"requests.get", "requests.post"}:
        url = _text(doc, cell, _argument(call, 0, "url"))
        return f"{url} ({last})" if url else f"a URL ({last})"
    return None


def _shell_download(command: IPythonCommand) -> str | None:
    if command.kind != "!" or command.program not in {"wget", "curl"}:
        return None
    url = _URL.search(command.text)
    return f"{url.group() if url else 'a URL'} ({command.program})"


@rule(
    "network",
    "the notebook downloads something as it runs: offline and in sandboxed CI it fails",
    "use data the run has offline (keras.datasets.fashion_mnist, or the files of "
    f"{HUB_REPO} through hf_hub_download, or torchvision's MobileNetV2 weights through "
    "keras.utils.get_file, which `tutorial-gen datasets` provides), or tag the cell "
    f"'{Tag.SKIP_EXECUTION}' if it is for readers only",
)
def _network(doc: Document) -> Iterator[Hit]:
    for cell in doc.code:
        if cell.skipped:
            continue
        found = [(c.line, _shell_download(c)) for c in cell.commands]
        found += [
            (node.lineno, _download(doc, cell, node))
            for node in cell.nodes()
            if isinstance(node, ast.Call)
        ]
        for line, what in sorted((f for f in found if f[1]), key=lambda f: f[0]):
            yield Hit(cell, line, f"downloads {what} at run time: offline, the run fails here")


_TENSORBOARD_CALLS = {"PruningSummaries", "TensorBoard"}


def _tensorboard_uses(cell: Cell) -> Iterator[tuple[int, str]]:
    for command in cell.commands:
        if command.kind == "%" and (
            command.program == "tensorboard" or command.words[:2] == ["load_ext", "tensorboard"]
        ):
            yield command.line, f"`%{command.text}`"
    for node in cell.nodes():
        if isinstance(node, ast.Call) and dotted(node.func).rsplit(".", 1)[-1] in (
            _TENSORBOARD_CALLS
        ):
            yield node.lineno, dotted(node.func)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            if any((n or "").split(".")[0] == "tensorboard" for n in names):
                yield node.lineno, "import tensorboard"


@rule(
    "tensorboard",
    "the notebook needs TensorBoard, which nothing installs (TensorFlow 2.21 no longer brings it)",
    "install tensorboard in the notebook's install cell, or leave the TensorBoard cells out",
)
def _tensorboard(doc: Document) -> Iterator[Hit]:
    if "tensorboard" in set().union(*map(brought_by, installs(doc))):
        return
    for cell in doc.code:
        for line, use in sorted(_tensorboard_uses(cell)):
            yield Hit(
                cell,
                line,
                f"{use} needs TensorBoard, which nothing installs: TensorFlow 2.21 no longer "
                "brings it, and the cell raises",
            )


@rule(
    "tflite-interpreter",
    "tf.lite.Interpreter is deprecated and scheduled for deletion",
    "use LiteRT: `from ai_edge_litert.interpreter import Interpreter`",
)
def _tflite_interpreter(doc: Document) -> Iterator[Hit]:
    for cell in doc.code:
        for node in cell.nodes():
            if isinstance(node, ast.Call):
                position = (cell.index, node.lineno, node.col_offset)
                name = doc.resolve(dotted(node.func), position)
                if name in {"tensorflow.lite.Interpreter", "tf.lite.Interpreter"}:
                    yield Hit(
                        cell,
                        node.lineno,
                        f"{dotted(node.func)} is deprecated: TensorFlow warns that it will be "
                        "deleted, and LiteRT replaces it",
                    )


def device_command(command: IPythonCommand) -> bool:
    """Whether a command talks to an Android device (`!adb ...`)."""
    return command.kind == "!" and command.program in {"adb", "fastboot"}


@rule(
    "device",
    "a shell command needs an Android device connected over adb",
    f"tag the cell '{Tag.SKIP_EXECUTION}' and say in the prose what it needs and what it gave",
)
def _device(doc: Document) -> Iterator[Hit]:
    pushed = " ".join(c.text for cell in doc.code for c in cell.commands if "push" in c.words)
    for cell in doc.code:
        if cell.skipped:
            continue
        for command in filter(device_command, cell.commands):
            models = [w.split("/")[-1] for w in re.findall(r"[\w./-]+\.tflite\b", command.text)]
            missing = [m for m in models if m not in pushed]
            unpushed = f"; nothing pushes {', '.join(missing)} to it" if missing else ""
            yield Hit(
                cell,
                command.line,
                f"`!{command.program}` needs an Android device connected to the machine: "
                f"headless, the command fails and the run does not notice{unpushed}",
            )


@rule(
    "syntax",
    "a code cell is not valid Python: no rule can read it, and running it raises",
    "fix the code; IPython lines (`!cmd`, `%magic`) only count where a statement can start",
)
def _syntax(doc: Document) -> Iterator[Hit]:
    for cell in doc.code:
        if (error := cell.syntax_error) is not None:
            yield Hit(cell, error.lineno or 1, f"does not parse: {error.msg}")
