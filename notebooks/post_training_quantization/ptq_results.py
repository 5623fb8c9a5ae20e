# %% [markdown]
# # Post-training quantization across three architectures

# %% [markdown]
# The measurements behind the overview page of post-training quantization. You train three small
# Fashion-MNIST classifiers as float models (the tutorial CNN, a dense-only MLP and a mobile-style
# separable CNN), convert each to a float `.tflite` file and then with each post-training
# quantization mode: dynamic range, float16 and full integer (int8, with int8 input and output).
# Every file is measured the same way in LiteRT: accuracy on the 10,000 test images, raw and
# zipped size, latency on one thread and runtime memory.

# %%
# tutorial-gen: setup

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import tempfile

import matplotlib.pyplot as plt
import tensorflow as tf
import tf_keras as keras

print("TensorFlow", tf.__version__, "| tf_keras", keras.__version__)

# %% tags=["parameters"]
seed = 42
epochs = 4
train_samples = 60000  # size of the training subset (60000: all of Fashion-MNIST)
batch_size = 128
modes = ["dynamic", "float16", "int8"]  # post-training quantization modes of `to_tflite`
representative_samples = 100  # training images that calibrate the int8 models
latency_runs = 500

# %% [markdown]
# The shared helpers: measuring, the dataset and the three architectures (`ARCHITECTURES`), and
# conversion with `to_tflite`, `measure_tflite` (every deployment metric of one `.tflite`) and
# `results_row` (one row of the results table).

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include models

# %%
# tutorial-gen: include convert

# %%
# tutorial-gen: include results

# %% [markdown]
# ## Train, convert and measure
#
# For each architecture: train the float model, measure its float `.tflite` file as the
# baseline, then convert and measure once per mode. The hyperparameter of each row is the mode.

# %%
MODE_LABELS = {
    "dynamic": "dynamic range (int8 weights)",
    "float16": "float16 weights",
    "int8": "full integer (int8)",
}

keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="ptq_results_")
(x_train, y_train), (x_test, y_test) = load_fashion_mnist(train_samples)

results_rows = []
for model_name, build in ARCHITECTURES.items():
    print(f"--- {model_name}")
    keras.utils.set_random_seed(seed)
    model = compile_for_training(build())
    model.fit(
        x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=2
    )
    slug = model.name
    baseline = measure_tflite(
        to_tflite(model, "float"),
        x_test,
        y_test,
        workdir,
        f"{slug}_float.tflite",
        latency_runs=latency_runs,
    )
    results_rows.append(results_row(model_name, "float baseline", None, baseline, baseline))
    for mode in modes:
        tflite_model = to_tflite(
            model, mode, representative=x_train, representative_samples=representative_samples
        )
        measured = measure_tflite(
            tflite_model,
            x_test,
            y_test,
            workdir,
            f"{slug}_{mode}.tflite",
            latency_runs=latency_runs,
        )
        results_rows.append(results_row(model_name, MODE_LABELS[mode], mode, measured, baseline))

# %% [markdown]
# ## Results

# %%
results_table(
    results_rows,
    {
        "model": "{model}",
        "configuration": "{config}",
        "accuracy": "{accuracy:.2%}",
        "vs float": "{change_points:+.2f} points",
        ".tflite bytes": "{tflite_bytes:,}",
        "times smaller": "{raw_ratio:.2f}x",
        "zipped bytes": "{size:,}",
        "median latency ms": "{latency_ms:.4f}",
        "memory KB": "{memory_kib:,.0f}",
    },
)

# %%
quantized_rows = [row for row in results_rows if row["hyperparameter"] is not None]
int8_rows = [row for row in results_rows if row["hyperparameter"] == "int8"]
int8_max_accuracy_gap = max(abs(accuracy_drop(row)) for row in int8_rows)
quantized_max_accuracy_gap = max(abs(accuracy_drop(row)) for row in quantized_rows)
int8_min_size_ratio = min(raw_ratio(results_rows, row) for row in int8_rows)


def size_ratio(model_name, mode):
    """Raw float .tflite bytes over raw quantized bytes, or None if the mode was not run."""
    if mode not in modes:
        return None
    return raw_ratio(results_rows, find_row(results_rows, model_name, hyperparameter=mode))


mlp_dynamic_size_ratio = size_ratio("MLP", "dynamic")
mlp_float16_size_ratio = size_ratio("MLP", "float16")
separable_dynamic_size_ratio = size_ratio("Separable CNN", "dynamic")
for name in ("mlp_dynamic_size_ratio", "mlp_float16_size_ratio", "separable_dynamic_size_ratio"):
    if globals()[name] is None:
        globals()[name + "_unmeasured_reason"] = "this run's `modes` leaves the mode out"

MODE_COLORS = {"float": "#7f7f7f", "dynamic": "#1f77b4", "float16": "#2ca02c", "int8": "#d62728"}
fig, axes = plt.subplots(1, len(ARCHITECTURES), figsize=(12, 3.8), sharey=False)
for ax, model_name in zip(axes, ARCHITECTURES, strict=True):
    rows = [row for row in results_rows if row["model"] == model_name]
    labels = ["float" if row["hyperparameter"] is None else row["hyperparameter"] for row in rows]
    bars = ax.bar(
        labels,
        [row["tflite_bytes"] / 1024 for row in rows],
        color=[MODE_COLORS[label] for label in labels],
    )
    ax.bar_label(bars, labels=[f"{row['accuracy']:.1%}" for row in rows], fontsize=8)
    ax.set_title(model_name)
    ax.set_ylabel(".tflite size (KiB)")
fig.suptitle("Raw .tflite size per mode (bar labels: LiteRT test accuracy)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Full integer quantization keeps every architecture's accuracy: each full integer model stays
# within 1 point of its float baseline, and so does every other quantized model of the sweep.
# Every full integer model is at least 1.4x smaller than its float `.tflite` on disk.
#
# How much a file shrinks depends on how much of it is weights. The MLP is almost all weights,
# and its dynamic range model is 3.8x smaller than its float `.tflite`, close to the published
# "4x reduction in the model size" of the TFLite documentation; its float16 model is 1.9x
# smaller, against a published "2x reduction in model size". The separable CNN has few weights
# and many layers, so the fixed part of its file (graph, tensor names, quantization parameters)
# weighs more; on top of that, most of its weight tensors hold fewer than 1024 values, which
# dynamic range quantization leaves in float (the guide shows this). Its dynamic range model is
# less than 1.5x smaller. Full integer quantization converts those small tensors too.
#
# Latency and memory are in the table for completeness. They were measured on a shared 2-core
# machine with one thread and a batch of one; for models this small they say more about the
# interpreter's fixed costs than about quantization, so read them as this run's measurement.
