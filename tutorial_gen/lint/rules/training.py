"""Rules about the journey of a tutorial: seeded training, and the steps in their order."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

from ...model import Role
from ..document import Document, Found, run_time_nodes
from ..registry import Hit, rule


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


# The calls that apply TFMOT's techniques; a technique of another kind names its own in
# technique.toml (`[technique] technique_calls`).
_TFMOT_CALLS = {"prune_low_magnitude", "quantize_model", "quantize_apply", "cluster_weights"}
_MEASURE_CALLS = {"zipped_size", "file_size", "getsize", "tflite_accuracy", "tflite_latency"}
_MEASURE_CALLS |= {"tflite_runtime_memory"}
_JOURNEY: dict[str, Callable[[str], bool]] = {
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


def _technique_calls(doc: Document) -> tuple[str, ...]:
    return doc.technique.technique_calls if doc.technique else ()


def _journey_steps(doc: Document) -> dict[str, list[Found]]:
    """The calls that take each step: by their name, or as a function of the snippets whose
    body takes it (`to_tflite` exports, `measure_tflite` measures)."""
    applying = _TFMOT_CALLS | set(_technique_calls(doc))
    tests = {"technique": lambda n: n.rsplit(".", 1)[-1] in applying, **_JOURNEY}
    steps = {
        step: [c for c in doc.calls if test(c.name) or any(map(test, doc.helpers.get(c.name, ())))]
        for step, test in tests.items()
    }
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
    if doc.role != Role.TUTORIAL or tensorflow is None:
        return
    steps = _journey_steps(doc)
    if not steps["technique"]:
        declared = _technique_calls(doc)
        own = f"{', '.join(declared)} (technique_calls of technique.toml), " if declared else ""
        yield Hit(
            tensorflow.cell,
            tensorflow.line,
            f"no technique step: nothing calls {own}tfmot "
            "(prune_low_magnitude, quantize_model, ...) or sets converter.optimizations",
            None
            if declared
            else "a technique that is no tfmot call names the calls that apply it in "
            'technique.toml: [technique] technique_calls = ["factorize_dense"]',
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
