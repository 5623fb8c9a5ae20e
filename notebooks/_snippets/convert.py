"""TFLite conversion in the four modes the tutorials compare, and measuring one configuration.

Needs the `measure` snippet (sizes, LiteRT accuracy, latency, memory) included before it.
"""

import hashlib
import os
import tempfile

import numpy as np
import tensorflow as tf

CONVERSION_MODES = ("float", "dynamic", "float16", "int8")


def to_tflite(
    model, mode: str = "float", representative=None, representative_samples: int = 100
) -> bytes:
    """Convert a Keras model to a TFLite flatbuffer.

    float: no optimization. dynamic: `Optimize.DEFAULT`, int8 weights (for a quantization-aware
    trained model this applies the learned int8 quantization). float16: float16 weights. int8: full
    integer with int8 input and output, calibrated on the first `representative_samples` of the
    `representative` images. For a model of several inputs (token ids and a mask, say),
    `representative` is a dict of arrays, as `measure` takes them, and the inputs keep their dtype.
    """
    if mode not in CONVERSION_MODES:
        raise ValueError(f"mode must be one of {CONVERSION_MODES}, not {mode!r}")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode != "float":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode == "int8":
        if representative is None:
            raise ValueError("int8 conversion needs representative images")
        if not isinstance(representative, dict):
            representative = np.asarray(representative, dtype=np.float32)
        calibration_count = min(representative_samples, example_count(representative))

        def calibration():
            for index in range(calibration_count):
                example = examples(representative, index, index + 1)
                yield example if isinstance(example, dict) else [example]

        converter.representative_dataset = calibration
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if not isinstance(representative, dict):  # a float image input becomes int8
            converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def save_bytes(data: bytes, folder: str, name: str) -> str:
    """Write `data` to `folder/name` and return the path."""
    path = os.path.join(folder, name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


# When tutorial-gen runs a results notebook in the full profile it names a folder here, so that the
# model each results row measured is kept beside the numbers (build/models/). Elsewhere (Colab) it
# is unset, and nothing more is written.
MODELS_ENV = "TUTORIAL_GEN_MODELS"


def keep_model(data: bytes, name: str) -> None:
    """Also write `data` as `name` into the folder `MODELS_ENV` names, if it names one: whole or
    not at all (a temporary file, then renamed), so a stopped run leaves no half-written model."""
    folder = os.environ.get(MODELS_ENV)
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(partial, os.path.join(folder, name))
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def measure_tflite(
    tflite_model: bytes,
    x_test,
    y_test,
    folder: str,
    name: str,
    latency_runs: int = 200,
    memory: bool = True,
) -> dict:
    """Every deployment metric of one `.tflite` model, under the definitions of docs/authoring.md,
    with the file's name and the sha256 of its bytes (which model a results row measured)."""
    path = save_bytes(tflite_model, folder, name)
    keep_model(tflite_model, name)
    latency = tflite_latency(tflite_model, examples(x_test, 0), runs=latency_runs)
    return {
        "tflite_bytes": file_size(path),
        "size": zipped_size(path),
        "accuracy": tflite_accuracy(tflite_model, x_test, y_test),
        "latency_ms": latency["median_ms"],
        "latency_p10_ms": latency["p10_ms"],
        "latency_p90_ms": latency["p90_ms"],
        "memory_bytes": (
            tflite_runtime_memory(tflite_model, examples(x_test, 0)) if memory else None
        ),
        "tflite_file": name,
        "tflite_sha256": hashlib.sha256(tflite_model).hexdigest(),
    }


def results_row(
    model_name: str, config: str, hyperparameter, measured: dict, baseline: dict
) -> dict:
    """One row of a results notebook (`results_rows`): this configuration beside its float baseline."""
    return {
        "model": model_name,
        "config": config,
        "hyperparameter": hyperparameter,
        "baseline_accuracy": baseline["accuracy"],
        "baseline_size": baseline["size"],
        **measured,
    }
