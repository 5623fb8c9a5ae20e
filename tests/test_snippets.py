"""Tests of the measuring helpers in notebooks/_snippets/measure.py.

The module is loaded by path, as `build` inlines it into notebooks rather than importing it.
Tests marked `tensorflow` build small .tflite models with the TFLite converter.
"""

import importlib.util
import os
import pathlib

import numpy as np
import pytest

MEASURE_PATH = (
    pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "_snippets" / "measure.py"
)


def _load_measure():
    spec = importlib.util.spec_from_file_location("tutorial_snippet_measure", MEASURE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


measure = _load_measure()

# A linear classifier on 4 features whose predicted class is the argmax of the first 3 features.
WEIGHTS = np.array(
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.1, 0.1, 0.1]], dtype=np.float32
)


def _dataset(n=100, seed=0):
    """Inputs with a clear winner among the first 3 features; labels wrong for every 4th image.

    The winner is 0.45 against at most 0.3, far apart for int8 steps, but every value is below
    0.5: feeding unscaled, merely rounded inputs to an int8 model would erase the winner.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 0.3, size=(n, 4)).astype(np.float32)
    winner = rng.integers(0, 3, size=n)
    x[np.arange(n), winner] = 0.45
    y = winner.copy()
    wrong = np.arange(n) % 4 == 3
    y[wrong] = (winner[wrong] + 1) % 3
    return x, y, winner


def _convert(weights, integer_only=False, calibration=None):
    """Convert x @ weights into a .tflite flatbuffer with a dynamic batch dimension."""
    tf = pytest.importorskip("tensorflow")
    w = tf.constant(weights)

    @tf.function(input_signature=[tf.TensorSpec([None, weights.shape[0]], tf.float32)])
    def logits(x):
        return tf.matmul(x, w)

    module = tf.Module()
    module.logits = logits
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [logits.get_concrete_function()], module
    )
    if integer_only:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([row[None, :]] for row in calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


@pytest.fixture(scope="module")
def float_model():
    return _convert(WEIGHTS)


@pytest.fixture(scope="module")
def int8_model():
    x, _, _ = _dataset()
    return _convert(WEIGHTS, integer_only=True, calibration=x)


def test_file_size_counts_bytes(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"x" * 12345)
    assert measure.file_size(path) == 12345


def test_zipped_size_compresses_zeros_but_not_noise(tmp_path):
    zeros = tmp_path / "zeros.bin"
    zeros.write_bytes(bytes(1_000_000))
    noise = tmp_path / "noise.bin"
    noise.write_bytes(np.random.default_rng(0).bytes(100_000))
    before = set(os.listdir(tmp_path))
    assert measure.zipped_size(zeros) < 10_000
    # Random bytes do not compress: the archive holds them plus headers.
    assert measure.zipped_size(noise) > 100_000
    assert set(os.listdir(tmp_path)) == before


def test_sparsity_counts_exact_zeros():
    arrays = [np.array([0.0, 1.0, 0.0, 2.0]), np.zeros((2, 2)), np.array([[1e-9]])]
    assert measure.sparsity(arrays) == pytest.approx(6 / 9)
    assert measure.sparsity([np.ones(3)]) == 0.0


def test_show_table_prints_markdown_outside_a_notebook(capsys):
    measure.show_table(["model", "bytes"], [["baseline", 10], ["pruned", 3]])
    assert capsys.readouterr().out.splitlines() == [
        "| model | bytes |",
        "|---|---|",
        "| baseline | 10 |",
        "| pruned | 3 |",
    ]


@pytest.mark.tensorflow
def test_accuracy_matches_hand_computed_value(float_model, tmp_path):
    x, y, _ = _dataset()
    # Every 4th label is wrong by construction and the model predicts the winner: 75 of 100.
    assert measure.tflite_accuracy(float_model, x, y) == 0.75
    path = tmp_path / "model.tflite"
    path.write_bytes(float_model)
    assert measure.tflite_accuracy(str(path), x, y) == 0.75


@pytest.mark.tensorflow
def test_batched_predictions_equal_image_at_a_time(float_model):
    x, _, winner = _dataset(n=37, seed=1)
    one_by_one = measure.tflite_predict(float_model, x, batch_size=1)
    np.testing.assert_array_equal(one_by_one, winner)
    np.testing.assert_array_equal(measure.tflite_predict(float_model, x, batch_size=8), one_by_one)


@pytest.mark.tensorflow
def test_accuracy_quantizes_int8_inputs(int8_model):
    x, y, _ = _dataset()
    assert measure.tflite_accuracy(int8_model, x, y) == 0.75
    assert measure.tflite_accuracy(int8_model, x, y, batch_size=1) == 0.75


@pytest.mark.tensorflow
def test_latency_reports_ordered_percentiles(float_model):
    result = measure.tflite_latency(float_model, sample=np.ones(4, np.float32), runs=30, warmup=3)
    assert set(result) == {"median_ms", "p10_ms", "p90_ms", "runs"}
    assert result["runs"] == 30
    assert 0 < result["p10_ms"] <= result["median_ms"] <= result["p90_ms"]


@pytest.mark.tensorflow
def test_runtime_memory_grows_with_the_weights():
    # 1024 x 1024 float32 weights: 4 MiB that one inference has to read.
    big = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
    memory = measure.tflite_runtime_memory(_convert(big))
    assert memory > 2 * 1024 * 1024
    assert memory < 512 * 1024 * 1024
