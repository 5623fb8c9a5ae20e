"""Tests of the conversion, model and weight helpers in notebooks/_snippets/{convert,models,weights}.py.

A notebook gets the snippets inlined one after another, so `convert` finds `file_size`,
`tflite_accuracy` and the other measuring helpers among the names `measure` defined before it. The
snippets are loaded here the same way: their source is executed, in the order a script includes
them, into one shared namespace. Tests marked `tensorflow` load that namespace (every snippet but
`measure` imports TensorFlow) and convert tiny models.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before anything imports TensorFlow

import hashlib  # noqa: E402
import pathlib  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tutorial_gen.model import ROW_KEYS  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
SNIPPETS = ROOT / "notebooks" / "_snippets"
FASHION_MNIST = pathlib.Path.home() / ".keras" / "datasets" / "fashion-mnist"
FASHION_MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

# The keys `measure_tflite` returns: the deployment metrics of one configuration, and which
# file it measured.
DEPLOYMENT_KEYS = {
    "tflite_bytes",
    "size",
    "accuracy",
    "latency_ms",
    "latency_p10_ms",
    "latency_p90_ms",
    "memory_bytes",
    "tflite_file",
    "tflite_sha256",
}
FEATURES = 16


@pytest.fixture(scope="module")
def snippets():
    """The names `measure`, `convert`, `models` and `weights` define, inlined in that order."""
    pytest.importorskip("tensorflow")
    namespace = {"__name__": "tutorial_snippets"}
    for name in ("measure", "convert", "models", "weights"):
        path = SNIPPETS / f"{name}.py"
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def keras(snippets):
    import tf_keras

    return tf_keras


@pytest.fixture(scope="module")
def data():
    """Inputs of `FEATURES` features and labels 0-9, for a classifier of that many inputs."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, size=(64, FEATURES)).astype(np.float32)
    return x, rng.integers(0, 10, size=64)


@pytest.fixture(scope="module")
def dense_model(keras):
    """A classifier of 16 features with 6,656 weights: enough for quantization to shrink the file."""
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.layers.InputLayer(input_shape=(FEATURES,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


@pytest.fixture(scope="module")
def converted(snippets, dense_model, data):
    """`dense_model` converted in each of the four modes, int8 calibrated on `data`."""
    x, _ = data
    return {
        mode: snippets["to_tflite"](dense_model, mode, representative=x)
        for mode in snippets["CONVERSION_MODES"]
    }


def _interpreter(tflite_model):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite_model)
    interpreter.allocate_tensors()
    return interpreter


# convert.py


@pytest.mark.tensorflow
def test_conversion_modes_are_the_four_compared(snippets):
    assert snippets["CONVERSION_MODES"] == ("float", "dynamic", "float16", "int8")


@pytest.mark.tensorflow
@pytest.mark.parametrize("mode", ["float", "dynamic", "float16", "int8"])
def test_every_mode_gives_a_model_litert_runs(snippets, converted, dense_model, data, mode):
    x, _ = data
    interpreter = _interpreter(converted[mode])
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    assert list(inp["shape"]) == [1, FEATURES]
    interpreter.set_tensor(inp["index"], snippets["_to_input_dtype"](x[:1], inp))
    interpreter.invoke()
    logits = snippets["_from_output"](interpreter.get_tensor(out["index"]), out)
    assert logits.shape == (1, 10)
    # Every mode computes the Keras model (logits up to 0.3), to within its quantization error.
    expected = dense_model.predict(x[:1], verbose=0)
    tolerance = {"float": 1e-6, "dynamic": 0.01, "float16": 1e-3, "int8": 0.01}[mode]
    np.testing.assert_allclose(logits, expected, atol=tolerance)


@pytest.mark.tensorflow
def test_quantized_modes_give_smaller_files(converted):
    float_bytes = len(converted["float"])
    # int8 weights take a quarter of the float bytes, float16 weights half.
    assert len(converted["dynamic"]) < 0.5 * float_bytes
    assert len(converted["int8"]) < 0.5 * float_bytes
    assert len(converted["float16"]) < 0.75 * float_bytes
    assert len(converted["dynamic"]) < len(converted["float16"])


@pytest.mark.tensorflow
def test_int8_model_takes_and_gives_int8(converted):
    interpreter = _interpreter(converted["int8"])
    assert interpreter.get_input_details()[0]["dtype"] == np.int8
    assert interpreter.get_output_details()[0]["dtype"] == np.int8
    for mode in ("float", "dynamic", "float16"):
        assert _interpreter(converted[mode]).get_input_details()[0]["dtype"] == np.float32


@pytest.mark.tensorflow
def test_int8_without_representative_images_is_refused(snippets, dense_model):
    # The converter itself also raises a ValueError here; the match is on the snippet's own message.
    with pytest.raises(ValueError, match="int8 conversion needs representative images"):
        snippets["to_tflite"](dense_model, "int8")


@pytest.mark.tensorflow
def test_unknown_mode_is_refused(snippets, dense_model, data):
    x, _ = data
    with pytest.raises(ValueError, match="'int4'"):
        snippets["to_tflite"](dense_model, "int4", representative=x)


@pytest.mark.tensorflow
def test_measure_tflite_reports_every_deployment_metric(
    snippets, converted, data, tmp_path, monkeypatch
):
    x, y = data
    folder = tmp_path / "models"
    folder.mkdir()
    scratch = tmp_path / "scratch"  # the working and temporary directory while measuring
    scratch.mkdir()
    monkeypatch.chdir(scratch)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.delenv(snippets["MODELS_ENV"], raising=False)  # as in Colab

    measured = snippets["measure_tflite"](
        converted["int8"], x, y, str(folder), "int8.tflite", latency_runs=20
    )

    assert set(measured) == DEPLOYMENT_KEYS
    path = folder / "int8.tflite"
    # The model is written where it was asked to be and nowhere else; temporary files are gone.
    assert sorted(os.listdir(folder)) == ["int8.tflite"]
    assert path.read_bytes() == converted["int8"]
    assert os.listdir(scratch) == []
    assert measured["tflite_bytes"] == path.stat().st_size == len(converted["int8"])
    assert measured["size"] == snippets["zipped_size"](path) > 0
    assert 0.0 <= measured["accuracy"] <= 1.0
    assert measured["accuracy"] == snippets["tflite_accuracy"](converted["int8"], x, y)
    assert 0 < measured["latency_p10_ms"] <= measured["latency_ms"] <= measured["latency_p90_ms"]
    assert isinstance(measured["memory_bytes"], int) and measured["memory_bytes"] > 0
    assert measured["tflite_file"] == "int8.tflite"
    assert measured["tflite_sha256"] == hashlib.sha256(converted["int8"]).hexdigest()


@pytest.mark.tensorflow
def test_measure_tflite_also_keeps_the_model_where_the_runner_says(
    snippets, converted, data, tmp_path, monkeypatch
):
    x, y = data
    kept = tmp_path / "kept" / "models"  # made when the first model is kept
    monkeypatch.setenv(snippets["MODELS_ENV"], str(kept))
    measured = snippets["measure_tflite"](
        converted["float"], x, y, str(tmp_path), "float.tflite", latency_runs=5, memory=False
    )
    assert os.listdir(kept) == ["float.tflite"]  # whole, and no temporary file left
    assert (kept / "float.tflite").read_bytes() == converted["float"]
    assert measured["tflite_sha256"] == hashlib.sha256(converted["float"]).hexdigest()


@pytest.mark.tensorflow
def test_a_model_that_cannot_be_kept_leaves_no_partial_file(snippets, tmp_path, monkeypatch):
    monkeypatch.setenv(snippets["MODELS_ENV"], str(tmp_path))

    def refuse(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        snippets["keep_model"](b"model bytes", "full.tflite")
    assert os.listdir(tmp_path) == []


@pytest.mark.tensorflow
def test_measure_tflite_without_memory(snippets, converted, data, tmp_path):
    x, y = data
    measured = snippets["measure_tflite"](
        converted["float"], x, y, str(tmp_path), "float.tflite", latency_runs=5, memory=False
    )
    assert set(measured) == DEPLOYMENT_KEYS
    assert measured["memory_bytes"] is None
    assert measured["tflite_bytes"] == len(converted["float"])


@pytest.mark.tensorflow
def test_results_row_has_the_row_keys_and_the_baselines_numbers(
    snippets, converted, data, tmp_path
):
    x, y = data
    measured = snippets["measure_tflite"](
        converted["int8"], x, y, str(tmp_path), "int8.tflite", latency_runs=5, memory=False
    )
    # A baseline whose numbers differ from every measured one, so a mix-up shows.
    baseline = {"accuracy": 0.125, "size": 123_456, "tflite_bytes": 7, "latency_ms": 99.0}

    row = snippets["results_row"]("MLP", "int8 PTQ", "int8", measured, baseline)

    assert set(row) == set(ROW_KEYS)
    assert (row["model"], row["config"], row["hyperparameter"]) == ("MLP", "int8 PTQ", "int8")
    assert row["baseline_accuracy"] == 0.125
    assert row["baseline_size"] == 123_456
    assert {key: row[key] for key in DEPLOYMENT_KEYS} == measured


def _documented_row_keys():
    """The keys in the first column of the table under "The rows of a results notebook"."""
    text = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    section = text.split("### The rows of a results notebook", 1)[1]
    section = re.split(r"^#", section, maxsplit=1, flags=re.MULTILINE)[0]
    keys = []
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2 and "`" in cells[1]:
            keys += re.findall(r"`([^`]+)`", cells[1])
    return keys


def test_the_docs_table_lists_the_row_keys_in_order():
    assert tuple(_documented_row_keys()) == ROW_KEYS


# models.py


@pytest.mark.tensorflow
def test_architectures_are_the_three_models(snippets):
    assert set(snippets["ARCHITECTURES"]) == {"Tutorial CNN", "MLP", "Separable CNN"}


@pytest.mark.tensorflow
@pytest.mark.parametrize("name", ["Tutorial CNN", "MLP", "Separable CNN"])
def test_each_architecture_maps_28x28_images_to_10_logits(snippets, name):
    model = snippets["ARCHITECTURES"][name]()
    assert model.input_shape == (None, 28, 28)
    assert model.output_shape == (None, 10)
    images = np.random.default_rng(0).uniform(size=(3, 28, 28)).astype(np.float32)
    assert model.predict(images, verbose=0).shape == (3, 10)


@pytest.mark.tensorflow
def test_compile_for_training_sets_adam_and_cross_entropy_on_logits(snippets, keras):
    model = snippets["mlp"]()
    assert snippets["compile_for_training"](model, learning_rate=0.01) is model
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert model.loss.get_config()["from_logits"] is True
    images = np.random.default_rng(0).uniform(size=(8, 28, 28)).astype(np.float32)
    loss, accuracy = model.train_on_batch(images, np.arange(8))
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0


@pytest.mark.tensorflow
def test_keras_accuracy_is_the_fraction_of_top1_hits(snippets, keras):
    # An identity layer: the predicted class is the largest of the three inputs.
    model = keras.Sequential([keras.layers.Dense(3, use_bias=False, input_shape=(3,))])
    model.set_weights([np.eye(3, dtype=np.float32)])
    x = np.array(
        [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 2, 1], [3, 0, 1]],
        dtype=np.float32,
    )  # predicted classes 0, 1, 2, 1, 0
    y = np.array([0, 1, 0, 2, 0])  # right for the 1st, 2nd and 5th
    assert snippets["keras_accuracy"](model, x, y) == pytest.approx(3 / 5)
    # labels as a column, as some datasets give them, count the same
    assert snippets["keras_accuracy"](model, x, y.reshape(-1, 1)) == pytest.approx(3 / 5)


@pytest.mark.tensorflow
def test_load_fashion_mnist_scales_the_first_training_images(snippets, keras):
    missing = [name for name in FASHION_MNIST_FILES if not (FASHION_MNIST / name).exists()]
    if missing:
        pytest.skip(
            f"Fashion-MNIST is not in {FASHION_MNIST} ({', '.join(missing)}); run make setup"
        )
    (x_train, y_train), (x_test, y_test) = snippets["load_fashion_mnist"](train_samples=50)
    (raw_train, raw_labels), _ = keras.datasets.fashion_mnist.load_data()

    assert x_train.shape == (50, 28, 28) and y_train.shape == (50,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert x_train.dtype == np.float32 and x_test.dtype == np.float32
    for images in (x_train, x_test):
        assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_allclose(x_train, raw_train[:50] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_train, raw_labels[:50])


# weights.py


@pytest.mark.tensorflow
def test_unique_values_counts_distinct_weights(snippets):
    kernel = np.array([[0.5, 0.5, -1.0], [0.0, -1.0, 0.5]])
    assert snippets["unique_values"](kernel) == 3
    assert snippets["unique_values"](np.zeros((4, 4))) == 1


@pytest.mark.tensorflow
def test_fraction_of_2_4_blocks(snippets):
    fraction = snippets["fraction_of_2_4_blocks"]
    # Blocks along the last axis: [0 0 1 2] yes, [1 2 3 4] no, [0 1 0 3] yes, [0 0 0 5] yes.
    kernel = np.array([[0, 0, 1, 2, 1, 2, 3, 4], [0, 1, 0, 3, 0, 0, 0, 5]], dtype=np.float32)
    assert fraction(kernel) == 0.75
    pattern = np.array([[1, 0, 2, 0, 0, 3, 0, 4], [0, 0, 5, 6, 7, 0, 0, 8]], dtype=np.float32)
    assert fraction(pattern) == 1.0
    # Along axis 0 of the transpose the blocks are the same; along its short last axis there are none.
    assert fraction(pattern.T, axis=0) == 1.0
    assert fraction(pattern.T) == 0.0
    # A tail shorter than four weights is left out: only [1 0 2 0] counts, not [0 9].
    assert fraction(np.array([[1, 0, 2, 0, 0, 9]])) == 1.0


@pytest.mark.tensorflow
def test_tflite_kernels_finds_the_dense_kernel_with_its_values(snippets, keras):
    units = 24  # the bias has 24 values, over `min_size`: only being 1-D keeps it out
    model = keras.Sequential([keras.layers.Dense(units, input_shape=(FEATURES,))])
    kernel = (np.arange(FEATURES * units, dtype=np.float32).reshape(FEATURES, units) - 100) / 16
    model.set_weights([kernel, np.ones(units, dtype=np.float32)])
    tflite_model = snippets["to_tflite"](model)

    kernels = snippets["tflite_kernels"](tflite_model)

    # Only the kernel, which TFLite stores as (out, in) for a fully connected layer.
    assert len(kernels) == 1
    (found,) = kernels.values()
    np.testing.assert_array_equal(found, kernel.T)
    assert snippets["tflite_kernels"](tflite_model, min_size=FEATURES * units + 1) == {}


@pytest.mark.tensorflow
def test_compare_latency_stops_once_the_claims_are_decided(snippets, converted, monkeypatch):
    import json

    claim = {"id": "x", "expr": "int8_latency_ms / float_latency_ms", "op": "<", "threshold": 1e3}
    monkeypatch.setenv(snippets["CLAIMS_ENV"], json.dumps([claim]))
    models = {"float": converted["float"], "int8": converted["int8"]}
    result = snippets["compare_latency"](models, runs_per_round=5, min_rounds=10, budget_s=30)
    assert [len(result[m]["rounds_ms"]) for m in models] == [10, 10]  # decided at the minimum
    assert result["float"]["median_ms"] == float(np.median(result["float"]["rounds_ms"]))
    assert result["int8"]["runs"] == 50


@pytest.mark.tensorflow
def test_compare_latency_samples_on_until_its_budget_when_undecided(
    snippets, converted, monkeypatch
):
    import time

    monkeypatch.delenv(snippets["CLAIMS_ENV"], raising=False)
    models = {"float": converted["float"], "int8": converted["int8"]}
    started = time.monotonic()
    result = snippets["compare_latency"](models, runs_per_round=5, budget_s=0.5, precision=0.0)
    assert time.monotonic() - started >= 0.5
    assert len(result["float"]["rounds_ms"]) > 10


@pytest.mark.tensorflow
def test_the_notebook_and_the_verdict_compute_the_same_interval(snippets):
    from tutorial_gen.verify.noise import interval

    rng = np.random.default_rng(3)
    rounds = {
        "a_latency_ms": list(rng.gamma(9, 0.01, 40)),
        "b_latency_ms": list(rng.gamma(9, 0.012, 40)),
    }
    metrics = {name: float(np.median(values)) for name, values in rounds.items()}
    expr = "abs(a_latency_ms / b_latency_ms - 1)"
    _, low, high = snippets["bootstrap_interval"](expr, rounds)
    assert (low, high) == pytest.approx(interval(expr, metrics, rounds), rel=1e-12)


# A model of two inputs, as the text task's: token ids and their attention mask.


@pytest.fixture(scope="module")
def two_inputs(keras):
    """Token ids (0-49) and a 0/1 mask, 8 tokens each, to two classes: a tiny text classifier."""
    keras.utils.set_random_seed(0)
    ids = keras.Input((8,), dtype="int32", name="input_ids")
    mask = keras.Input((8,), dtype="int32", name="attention_mask")
    tokens = keras.layers.Embedding(50, 16)(ids)
    weights = keras.layers.Reshape((8, 1))(
        keras.layers.Lambda(lambda m: keras.backend.cast(m, "float32"))(mask)
    )
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Multiply()([tokens, weights]))
    model = keras.Model([ids, mask], keras.layers.Dense(2)(pooled))
    rng = np.random.default_rng(1)
    x = {
        "input_ids": rng.integers(0, 50, size=(40, 8)).astype(np.int32),
        "attention_mask": (rng.uniform(size=(40, 8)) < 0.8).astype(np.int32),
    }
    return model, x


@pytest.mark.tensorflow
@pytest.mark.parametrize("mode", ["float", "int8"])
def test_a_model_of_two_inputs_is_converted_and_measured_by_name(
    snippets, two_inputs, mode, tmp_path
):
    """The dict's arrays reach the inputs of their name, in whatever order LiteRT lists them;
    LiteRT's predictions are the Keras model's, and the int8 model keeps int32 inputs."""
    model, x = two_inputs
    tflite = snippets["to_tflite"](model, mode, representative=x)
    interpreter = _interpreter(tflite)
    assert {d["dtype"] for d in interpreter.get_input_details()} == {np.int32}
    keras_top1 = np.argmax(model.predict(x, verbose=0), axis=1)
    predicted = snippets["tflite_predict"](tflite, x, batch_size=16)
    agreement = np.mean(predicted == keras_top1)
    assert agreement == 1.0 if mode == "float" else agreement >= 0.9
    swapped = {"attention_mask": x["attention_mask"], "input_ids": x["input_ids"]}
    np.testing.assert_array_equal(snippets["tflite_predict"](tflite, swapped), predicted)
    measured = snippets["measure_tflite"](
        tflite, x, keras_top1, str(tmp_path), f"{mode}.tflite", latency_runs=5
    )
    assert measured["accuracy"] == np.mean(predicted == keras_top1)
    assert measured["latency_ms"] > 0 and measured["memory_bytes"] >= 0


@pytest.mark.tensorflow
def test_runtime_memory_runs_the_model_on_the_example_and_reports_the_childs_error(snippets, keras):
    """A model that cannot run on zeros (a division by its input) is measured on the example
    given; on zeros the child's error comes back in one line."""
    counts = keras.Input((4,), dtype="int32", name="counts")
    ratio = keras.layers.Lambda(lambda t: 1.0 / keras.backend.cast(t, "float32"))(counts)
    tflite = snippets["to_tflite"](
        keras.Model(counts, ratio), "int8", representative={"counts": np.full((8, 4), 2, np.int32)}
    )
    assert snippets["tflite_runtime_memory"](tflite, {"counts": np.full(4, 2, np.int32)}) >= 0
    with pytest.raises(RuntimeError, match="in a fresh process failed: .*"):
        snippets["tflite_runtime_memory"](tflite)


@pytest.mark.tensorflow
def test_inputs_without_an_array_of_their_name_are_refused(snippets, two_inputs):
    model, x = two_inputs
    tflite = snippets["to_tflite"](model, "float")
    with pytest.raises(ValueError, match="no array for the model input"):
        snippets["tflite_predict"](tflite, {"input_ids": x["input_ids"]})
    with pytest.raises(ValueError, match="pass a dict of arrays"):
        snippets["tflite_predict"](tflite, x["input_ids"])


def test_examples_slices_arrays_and_dicts_alike(snippets):
    x = {"a": np.arange(10), "b": np.arange(10) * 2}
    assert snippets["example_count"](x) == 10
    assert snippets["examples"](x, 2, 4)["b"].tolist() == [4, 6]
    assert snippets["examples"](x, 3)["a"] == 3
    assert snippets["examples"](np.arange(5), 1, 3).tolist() == [1, 2]
