"""Measuring helpers shared by the tutorials: file size, zipped size, LiteRT accuracy,
latency and runtime memory, weight sparsity, and a small comparison table.

Each function implements one definition from the table in docs/authoring.md, so every
tutorial reports its numbers the same way.
"""

import ast
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

ModelSource = bytes | str | os.PathLike
# What a model takes: an array of examples, or for a model with several inputs a dict of arrays
# keyed by input name (`{"input_ids": ..., "attention_mask": ...}`), each with the examples first.
Inputs = np.ndarray | Mapping[str, np.ndarray]


def file_size(path: str | os.PathLike) -> int:
    """Return the size of the file at ``path`` on disk, in bytes."""
    return os.path.getsize(path)


def zipped_size(path: str | os.PathLike) -> int:
    """Return the size in bytes of a deflate zip archive holding only the file at ``path``.

    The archive is written to a temporary file that is removed before returning.
    """
    handle, archive = tempfile.mkstemp(suffix=".zip")
    os.close(handle)
    try:
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.write(path, arcname=os.path.basename(path))
        return os.path.getsize(archive)
    finally:
        os.remove(archive)


def _model_bytes(model: ModelSource) -> bytes:
    """Return the flatbuffer of a TFLite model given as bytes or as a path to a .tflite file."""
    if isinstance(model, (bytes, bytearray)):
        return bytes(model)
    with open(model, "rb") as f:
        return f.read()


def _to_input_dtype(images: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """Convert float images to the interpreter input's dtype, quantizing int8/uint8 inputs.

    Integer arrays for an input of the same dtype (token ids, say) pass unchanged."""
    dtype = detail["dtype"]
    if np.asarray(images).dtype == dtype:
        return np.asarray(images)
    if dtype in (np.int8, np.uint8):
        scale, zero_point = detail["quantization"]
        info = np.iinfo(dtype)
        q = np.round(images / scale + zero_point)
        return np.clip(q, info.min, info.max).astype(dtype)
    return images.astype(dtype)


def _from_output(values: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """Dequantize an int8/uint8 output tensor to float; pass float outputs through."""
    if detail["dtype"] in (np.int8, np.uint8):
        scale, zero_point = detail["quantization"]
        return (values.astype(np.float32) - zero_point) * scale
    return values


def example_count(x: Inputs) -> int:
    """The number of examples in ``x``."""
    return len(next(iter(x.values())) if isinstance(x, Mapping) else x)


def examples(x: Inputs, start: int, stop: int | None = None) -> Inputs:
    """Examples ``start`` to ``stop`` (just ``start``, without the batch axis, if ``stop`` is None)."""
    pick = (lambda a: a[start]) if stop is None else (lambda a: a[start:stop])
    return {k: pick(v) for k, v in x.items()} if isinstance(x, Mapping) else pick(x)


def _feeds(interpreter: Interpreter, x: Inputs) -> list[tuple[dict[str, Any], np.ndarray]]:
    """(input detail, its examples) for every input of the interpreter.

    A dict's keys are matched to the input tensor names the converter writes
    (`serving_default_input_ids:0` for the Keras input `input_ids`), the longest key first.
    """
    details = interpreter.get_input_details()
    if not isinstance(x, Mapping):
        if len(details) != 1:
            raise ValueError(f"the model has {len(details)} inputs: pass a dict of arrays")
        return [(details[0], np.asarray(x))]
    feeds = []
    for detail in details:
        keys = [k for k in sorted(x, key=len, reverse=True) if k in detail["name"]]
        if not keys:
            raise ValueError(f"no array for the model input {detail['name']!r} among {sorted(x)}")
        feeds.append((detail, np.asarray(x[keys[0]])))
    return feeds


def _set_inputs(interpreter: Interpreter, x: Inputs, size: int | None = None) -> None:
    """Set every input tensor from ``x``; first resize them to ``size`` examples if given."""
    feeds = _feeds(interpreter, x)
    if size is not None:
        for detail, _ in feeds:
            interpreter.resize_tensor_input(detail["index"], [size, *detail["shape"][1:]])
        interpreter.allocate_tensors()
    for detail, values in feeds:
        values = np.reshape(values, (len(values), *detail["shape"][1:]))
        interpreter.set_tensor(detail["index"], _to_input_dtype(values, detail))


def tflite_predict(model: ModelSource, x: Inputs, batch_size: int = 256) -> np.ndarray:
    """Return the top-1 class of every example in ``x`` from the LiteRT interpreter.

    ``batch_size`` examples go through each ``invoke()``; ``batch_size=1`` is the plain
    one-at-a-time loop; both give the same predictions.
    """
    interpreter = Interpreter(model_content=_model_bytes(model), num_threads=1)
    out = interpreter.get_output_details()[0]
    if not isinstance(x, Mapping):
        x = np.asarray(x, dtype=np.float32)
    total = example_count(x)
    predictions = np.empty(total, dtype=np.int64)
    current = None
    for start in range(0, total, batch_size):
        batch = examples(x, start, start + batch_size)
        size = example_count(batch)
        _set_inputs(interpreter, batch, None if current == size else size)
        current = size
        interpreter.invoke()
        logits = _from_output(interpreter.get_tensor(out["index"]), out)
        predictions[start : start + size] = np.argmax(logits.reshape(size, -1), axis=1)
    return predictions


def tflite_accuracy(model: ModelSource, x: Inputs, y: np.ndarray, batch_size: int = 256) -> float:
    """Return the top-1 accuracy (a fraction) of a TFLite model on every example of ``x``."""
    predictions = tflite_predict(model, x, batch_size=batch_size)
    return float(np.mean(predictions == np.asarray(y).reshape(-1)))


def tflite_latency(
    model: ModelSource,
    sample: Inputs | None = None,
    runs: int = 200,
    warmup: int = 20,
) -> dict[str, float]:
    """Time ``invoke()`` of a TFLite model on one thread with a batch of one example.

    ``sample`` is one example without the batch axis (`examples(x_test, 0)`; zeros if omitted).
    ``warmup`` untimed runs come first, then ``runs`` timed ones. Returns median_ms, p10_ms,
    p90_ms and runs.
    """
    interpreter = _prepared(model, sample)
    for _ in range(warmup):
        interpreter.invoke()
    times_ms = []
    for _ in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        times_ms.append((time.perf_counter() - start) * 1000.0)
    p10, p90 = np.percentile(times_ms, [10, 90])
    return {
        "median_ms": float(statistics.median(times_ms)),
        "p10_ms": float(p10),
        "p90_ms": float(p90),
        "runs": len(times_ms),
    }


# When tutorial-gen runs a notebook it puts the claims the notebook's prose makes here, as JSON
# ([{"id", "expr", "op", "threshold"}, ...]), so that `compare_latency` samples until the ones
# about the models it times are decided. Elsewhere (Colab) it is unset.
CLAIMS_ENV = "TUTORIAL_GEN_CLAIMS"

_OPERATORS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def _prepared(model: ModelSource | Interpreter, sample: Inputs | None) -> Interpreter:
    """An interpreter of ``model`` on one thread, its inputs set to one example (zeros if omitted).

    An ``Interpreter`` built by the caller (for example with XNNPACK turned off) is used as is.
    """
    if isinstance(model, Interpreter):
        interpreter = model
    else:
        interpreter = Interpreter(model_content=_model_bytes(model), num_threads=1)
    if sample is None:
        sample = {
            d["name"]: np.zeros(d["shape"][1:], np.float32) for d in interpreter.get_input_details()
        }
    if isinstance(sample, Mapping):
        batch = {k: np.asarray(v)[np.newaxis] for k, v in sample.items()}
    else:
        batch = np.asarray(sample, np.float32)[np.newaxis]
    _set_inputs(interpreter, batch, 1)
    return interpreter


def _round_median_ms(interpreter: Interpreter, runs: int) -> float:
    times_ms = []
    for _ in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        times_ms.append((time.perf_counter() - start) * 1000.0)
    return float(statistics.median(times_ms))


def _evaluate(node: ast.expr, values: dict[str, np.ndarray]) -> np.ndarray:
    """The value of a claim expression (names, numbers, + - * /, abs/min/max) on arrays."""
    if isinstance(node, ast.Constant):
        return np.asarray(float(node.value))
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand, values)
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, values), _evaluate(node.right, values)
        ops = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}
        return ops[type(node.op)](left, right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_evaluate(a, values) for a in node.args]
        if node.func.id == "abs":
            return np.abs(args[0])
        return (np.minimum if node.func.id == "min" else np.maximum).reduce(np.stack(args))
    raise ValueError(f"not a claim expression: {ast.dump(node)}")


def bootstrap_interval(
    expr: str,
    rounds: dict[str, Sequence[float]],
    confidence: float = 0.99,
    resamples: int = 2000,
) -> tuple[float, float, float]:
    """Return (value, low, high) of a latency expression, with its percentile-bootstrap interval.

    ``rounds`` maps each metric name the expression reads to its round medians; the rounds of
    different models were timed side by side, so they are resampled together (the i-th round of
    every model stays paired). Each metric is the median of its rounds.
    """
    tree = ast.parse(expr, mode="eval").body
    series = {name: np.asarray(values, dtype=np.float64) for name, values in rounds.items()}
    count = min(len(v) for v in series.values())
    picks = np.random.default_rng(0).integers(0, count, size=(resamples, count))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(_evaluate(tree, {k: np.median(v[:count]) for k, v in series.items()}))
        spread = _evaluate(
            tree, {k: np.median(v[:count][picks], axis=1) for k, v in series.items()}
        )
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(spread, [tail, 100 - tail])
    return value, float(low), float(high)


def decided(low: float, high: float, op: str, threshold: float) -> bool | None:
    """True or False when the whole interval [low, high] is on one side of the threshold, else
    None: the measurement cannot tell, and more rounds (or a quieter machine) are needed."""
    if low < threshold < high:
        return None
    at_low, at_high = bool(_OPERATORS[op](low, threshold)), bool(_OPERATORS[op](high, threshold))
    return at_low if at_low == at_high else None


def _claims_about(names: set[str]) -> list[dict[str, Any]]:
    """The claims of the running notebook (see CLAIMS_ENV) that read only the metrics ``names``."""
    claims = json.loads(os.environ.get(CLAIMS_ENV) or "[]")
    about = []
    for claim in claims:
        tree = ast.parse(claim["expr"], mode="eval")
        called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}
        if read and read <= names:
            about.append(claim)
    return about


def _settled(
    rounds: dict[str, list[float]], claims: list[dict[str, Any]], precision: float
) -> bool:
    """Whether sampling can stop: every claim decided, or (without claims) every model's median
    known to within ``precision`` of its value, relative to the first model."""
    if claims:
        return all(
            decided(*bootstrap_interval(c["expr"], rounds)[1:], c["op"], c["threshold"]) is not None
            for c in claims
        )
    first, *others = rounds
    for name in others:
        value, low, high = bootstrap_interval(f"{name} / {first}", rounds)
        if (high - low) / 2 > precision * value:
            return False
    return True


def compare_latency(
    models: dict[str, ModelSource | Interpreter],
    sample: Inputs | None = None,
    *,
    runs_per_round: int = 50,
    min_rounds: int = 10,
    budget_s: float = 30.0,
    warmup: int = 20,
    precision: float = 0.02,
) -> dict[str, dict[str, Any]]:
    """Time several TFLite models against each other, interleaved, until the comparison is clear.

    Each round times ``runs_per_round`` single-image ``invoke()`` calls of every model, one model
    after the other in an order that rotates from round to round, and keeps each model's median:
    a busy moment of the machine then falls on all the models alike. Rounds go on (at least
    ``min_rounds``, at most ``budget_s`` seconds) until the comparison is decided: when run by
    tutorial-gen, until every claim about these models has its 99% bootstrap interval on one side
    of its threshold; otherwise until each model's latency relative to the first is known to
    within ``precision``.

    Keys of ``models`` name the metrics: the results of ``"pruned"`` are the ones a notebook stores
    as ``pruned_latency_ms`` (the median of the round medians) and ``pruned_latency_ms_samples``
    (the round medians, from which the interval of a claim is computed again). Returns, per key,
    median_ms, p10_ms and p90_ms of the round medians, rounds_ms, and runs (timed invokes).
    """
    interpreters = {name: _prepared(model, sample) for name, model in models.items()}
    for interpreter in interpreters.values():
        for _ in range(warmup):
            interpreter.invoke()
    claims = _claims_about({f"{name}_latency_ms" for name in models})
    rounds: dict[str, list[float]] = {name: [] for name in models}
    names, started = list(models), time.monotonic()
    while True:
        turn = len(rounds[names[0]]) % len(names)
        for name in names[turn:] + names[:turn]:
            rounds[name].append(_round_median_ms(interpreters[name], runs_per_round))
        done = len(rounds[names[0]])
        if time.monotonic() - started > budget_s:
            break
        named = {f"{name}_latency_ms": values for name, values in rounds.items()}
        if done >= min_rounds and done % 5 == 0 and _settled(named, claims, precision):
            break
    results = {}
    for name, values in rounds.items():
        p10, p90 = np.percentile(values, [10, 90])
        results[name] = {
            "median_ms": float(statistics.median(values)),
            "p10_ms": float(p10),
            "p90_ms": float(p90),
            "rounds_ms": values,
            "runs": len(values) * runs_per_round,
        }
    return results


def show_latency(
    latency: dict[str, dict[str, Any]], baseline: str, labels: dict[str, str] | None = None
) -> None:
    """Show the result of `compare_latency`: each model's median, the spread of its rounds, and
    its latency relative to ``baseline`` with the 99% bootstrap interval of that ratio."""
    rounds = {f"{name}_latency_ms": r["rounds_ms"] for name, r in latency.items()}
    rows = []
    for name, r in latency.items():
        ratio, low, high = bootstrap_interval(f"{name}_latency_ms / {baseline}_latency_ms", rounds)
        rows.append(
            [
                (labels or {}).get(name, name),
                f"{r['median_ms']:.4f}",
                f"{r['p10_ms']:.4f} to {r['p90_ms']:.4f}",
                f"{ratio:.3f}x ({low:.3f} to {high:.3f})",
            ]
        )
    print(
        f"{len(latency[baseline]['rounds_ms'])} rounds of {latency[baseline]['runs'] // len(latency[baseline]['rounds_ms'])} runs per model"
    )
    show_table(
        ["model", "median ms", "rounds, p10 to p90 ms", f"vs {baseline} (99% interval)"], rows
    )


_MEMORY_PROGRAM = """
import resource, sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

before = peak()
interpreter = Interpreter(model_path=sys.argv[1], num_threads=1)
interpreter.allocate_tensors()
sample = np.load(sys.argv[2]) if len(sys.argv) > 2 else {}
for inp in interpreter.get_input_details():
    value = sample.get(str(inp["index"]))
    if value is None:
        value = np.zeros(inp["shape"], dtype=inp["dtype"])
    interpreter.set_tensor(inp["index"], value)
interpreter.invoke()
print("PEAK_DELTA", peak() - before)
"""

_LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


def tflite_runtime_memory(model: ModelSource, sample: Inputs | None = None) -> int:
    """Return the peak resident memory, in bytes, added by running a TFLite model once.

    A child Python process imports LiteRT, records ``ru_maxrss``, loads the model into a
    fresh interpreter, allocates its tensors, runs one inference on ``sample`` (one example
    without the batch axis; zeros if omitted) and records ``ru_maxrss`` again; the difference
    is returned. The model and the example reach the child through temporary files.

    The child is started by a small intermediate Python process: on Linux a process
    inherits the peak RSS of the process it was spawned from, so a child spawned directly
    by a kernel holding TensorFlow would start with a peak far above anything LiteRT uses,
    and the difference would be zero.
    """
    data = _model_bytes(model)
    folder = tempfile.mkdtemp(prefix="tflite_memory_")
    path = os.path.join(folder, "model.tflite")
    with open(path, "wb") as f:
        f.write(data)
    arguments = [path]
    if sample is not None:
        interpreter = _prepared(Interpreter(model_content=data, num_threads=1), sample)
        inputs = {
            str(d["index"]): interpreter.get_tensor(d["index"])
            for d in interpreter.get_input_details()
        }
        arguments.append(os.path.join(folder, "sample.npz"))
        np.savez(arguments[-1], **inputs)
    try:
        result = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, sys.executable, "-c", _MEMORY_PROGRAM, *arguments],
            capture_output=True,
            text=True,
        )
    finally:
        for name in arguments:
            os.remove(name)
        os.rmdir(folder)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"running the model once in a fresh process failed: {last}")
    delta = next(
        int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("PEAK_DELTA")
    )
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    return delta if sys.platform == "darwin" else delta * 1024


def sparsity(weights: Sequence[np.ndarray]) -> float:
    """Return the fraction of entries that are exactly zero across a list of weight arrays."""
    total = sum(int(np.size(w)) for w in weights)
    zeros = sum(int(np.size(w) - np.count_nonzero(w)) for w in weights)
    return zeros / total if total else 0.0


def show_table(headers: Sequence[str], rows: list[Sequence[Any]]) -> None:
    """Show a comparison table: rendered markdown in a notebook, markdown text elsewhere."""
    lines = ["| " + " | ".join(str(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    text = "\n".join(lines)
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        in_notebook = get_ipython() is not None
    except ImportError:
        in_notebook = False
    if in_notebook:
        display(Markdown(text))
    else:
        print(text)
