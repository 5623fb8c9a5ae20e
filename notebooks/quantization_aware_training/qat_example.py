# %% [markdown]
# # Quantization aware training in Keras

# %% [markdown]
# A TensorFlow Lite model with 8-bit integer weights and activations stores one byte per weight
# instead of four and runs on the integer kernels of phones and microcontrollers. Rounding
# every weight and activation to 256 levels costs some accuracy, though. Quantization aware
# training (QAT) lets the network see that rounding while it trains, so it learns weights that
# survive it.
#
# In this tutorial you will:
#
# 1. train a small image classifier on Fashion-MNIST and measure it,
# 2. make it quantization aware with the TensorFlow Model Optimization Toolkit (TFMOT) and
#    fine-tune it briefly,
# 3. convert both models to TensorFlow Lite, the baseline in float and the QAT model in 8-bit
#    integers,
# 4. run both with the LiteRT interpreter to compare accuracy, size and speed.
#
# In your run the quantized TFLite model is 3x smaller than the float one, every weight kernel is
# stored as 8-bit integers, and its test accuracy is within 1 point of the float model.

# %%
# tutorial-gen: setup

# %% [markdown]
# ## Set up
#
# TFMOT 0.8 works with Keras 2 only, so you ask TensorFlow for its legacy Keras (the `tf_keras`
# package) before TensorFlow is imported.

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import tempfile

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

print("TensorFlow", tf.__version__, "| tf_keras", keras.__version__, "| TFMOT", tfmot.__version__)

# %% [markdown]
# The parameters of the run. The numbers quoted in this tutorial come from these values; lower
# `train_samples` and the epochs for a quick try.

# %% tags=["parameters"]
seed = 42
train_samples = 60000  # training images for the baseline (60000: all of Fashion-MNIST)
baseline_epochs = 4
batch_size = 128
qat_train_samples = 10000  # the subset quantization aware fine-tuning sees
qat_epochs = 1
qat_learning_rate = 1e-4
latency_runs = 1000

# %% [markdown]
# The next cells define the helpers this tutorial measures with: `file_size` and `zipped_size`
# for files, `tflite_accuracy`, `tflite_latency` and `tflite_runtime_memory` for models run by
# the LiteRT interpreter, and `show_table` for results; the Fashion-MNIST loader and the
# tutorial's CNN; `to_tflite` and `measure_tflite` to convert a Keras model and measure the
# `.tflite` file; and `tflite_kernels` to read the weights back out of a `.tflite` file. Every
# tutorial in this series uses the same code, so their numbers compare.

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include models

# %%
# tutorial-gen: include convert

# %%
# tutorial-gen: include weights

# %% [markdown]
# ## Load Fashion-MNIST
#
# Fashion-MNIST has 28x28 grayscale pictures of clothes in ten classes. The loader scales the
# pixels to [0, 1] and keeps the first `train_samples` training images. Every file this tutorial
# writes goes into a fresh temporary directory.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="qat_")

(x_train, y_train), (x_test, y_test) = load_fashion_mnist(train_samples)
print(f"training images: {x_train.shape}, test images: {x_test.shape}")
print(f"files go to {workdir}")

# %% [markdown]
# ## Train the baseline
#
# The model of the TFMOT tutorials: one 3x3 convolution with 12 filters, max pooling and a dense
# classifier, about 20,000 parameters. Keras holds back a tenth of the training images to report
# validation accuracy after each epoch.

# %%
baseline_model = compile_for_training(tutorial_cnn())
baseline_model.summary()
baseline_model.fit(
    x_train, y_train, batch_size=batch_size, epochs=baseline_epochs, validation_split=0.1, verbose=2
)

# %% [markdown]
# ## Measure the baseline before you quantize
#
# Measure and export the baseline now. Some TFMOT wrappers, such as those of pruning, wrap the
# very layer objects of the model you pass in, so fine-tuning the optimized model also changes the
# baseline; you check further down what `quantize_model` does. The float `.tflite` file is what
# you would ship without quantization.

# %%
baseline_accuracy = keras_accuracy(baseline_model, x_test, y_test)
baseline_weights = [w.copy() for w in baseline_model.get_weights()]
baseline_tflite = to_tflite(baseline_model, "float")
print(
    f"baseline: Keras test accuracy {baseline_accuracy:.2%}, "
    f"float .tflite {len(baseline_tflite):,} bytes"
)

# %% [markdown]
# ## Make the model quantization aware
#
# `quantize_model` returns a new model in which every layer is wrapped. Each wrapper rounds the
# layer's weights, and its output, to 8-bit levels in the forward pass ("fake quantization")
# while the backward pass lets the gradient through as if nothing had been rounded. A first
# `QuantizeLayer` rounds the input images too. The new non-trainable parameters in the summary
# are the ranges each wrapper maps to 256 levels.

# %%
qat_model = tfmot.quantization.keras.quantize_model(baseline_model)
compile_for_training(qat_model, learning_rate=qat_learning_rate)
qat_model.summary()

# %% [markdown]
# Do not judge the QAT model before it has trained a little. The input range starts at [0, 0]
# and the activation ranges at [-6, 6]; they only move to the real ranges of your data during
# training. Until then every image rounds to zeros and the model predicts one class for all of
# them, which scores chance level.

# %%
untrained_qat_accuracy = keras_accuracy(qat_model, x_test, y_test)
print(f"QAT model before fine-tuning: {untrained_qat_accuracy:.2%}")
assert untrained_qat_accuracy < 0.2, "expected chance level before the ranges are learned"

# %% [markdown]
# ## Fine-tune with quantization in the loop
#
# QAT fine-tunes a model that is already trained, so a lower learning rate than the baseline's
# is enough: the weights only need to adapt to the rounding. The published TFMOT example
# fine-tunes for one epoch on 1,000 images; you use `qat_train_samples` images, which gives a
# result that moves less from run to run.

# %%
qat_model.fit(
    x_train[:qat_train_samples],
    y_train[:qat_train_samples],
    batch_size=batch_size,
    epochs=qat_epochs,
    validation_split=0.1,
    verbose=2,
)
qat_accuracy = keras_accuracy(qat_model, x_test, y_test)

show_table(
    ["model", "Keras test accuracy"],
    [
        ["baseline (float)", f"{baseline_accuracy:.2%}"],
        ["quantization aware", f"{qat_accuracy:.2%}"],
        ["change", f"{100 * (qat_accuracy - baseline_accuracy):+.2f} points"],
    ],
)

# %% [markdown]
# Was the baseline touched? In TFMOT 0.8.1 `quantize_model` builds its wrappers on a copy of the
# model, so the baseline keeps its own weights: the check below passes. Measuring before you
# optimize costs nothing, and it stays correct with wrappers that do share their layers.

# %%
baseline_unchanged = all(
    np.array_equal(before, after)
    for before, after in zip(baseline_weights, baseline_model.get_weights(), strict=True)
)
print("baseline weights unchanged by QAT:", baseline_unchanged)
assert baseline_unchanged

# %% [markdown]
# ## Convert to TensorFlow Lite
#
# The QAT model only simulates quantization: its weights are still floats. The TFLite converter
# with `Optimize.DEFAULT` (your `to_tflite(model, "dynamic")`) reads the learned ranges and writes
# real 8-bit integer weights and activations, with a quantize step at the input and a dequantize
# step at the output, so the model still takes and returns floats.
#
# You read the weights back from the file to see what it stores.

# %%
qat_tflite = to_tflite(qat_model, "dynamic")

qat_kernels = tflite_kernels(qat_tflite)
baseline_kernels = tflite_kernels(baseline_tflite)
baseline_dtypes = {k.shape: str(k.dtype) for k in baseline_kernels.values()}
show_table(
    ["weight kernel (shape)", "baseline .tflite", "QAT .tflite"],
    [[str(k.shape), baseline_dtypes.get(k.shape, ""), str(k.dtype)] for k in qat_kernels.values()],
)
qat_int8_kernel_fraction = float(np.mean([k.dtype == np.int8 for k in qat_kernels.values()]))

# %% [markdown]
# The convolution and dense kernels of the QAT model are stored as `int8`: every weight kernel is
# stored as 8-bit integers, where the baseline keeps `float32`.
#
# ## Measure both models with LiteRT
#
# `measure_tflite` writes each model to disk and measures it the way every tutorial here does:
# raw and zipped size, top-1 accuracy of all 10,000 test images through the LiteRT interpreter,
# latency of one image on one thread (median of `latency_runs` timed runs after a warm-up), and
# the peak memory that loading and running the model adds to a fresh process.

# %%
baseline_measured = measure_tflite(
    baseline_tflite, x_test, y_test, workdir, "baseline.tflite", latency_runs=latency_runs
)
qat_measured = measure_tflite(
    qat_tflite, x_test, y_test, workdir, "qat_int8.tflite", latency_runs=latency_runs
)

baseline_tflite_bytes = baseline_measured["tflite_bytes"]
qat_tflite_bytes = qat_measured["tflite_bytes"]
baseline_tflite_zipped_bytes = baseline_measured["size"]
qat_tflite_zipped_bytes = qat_measured["size"]
baseline_tflite_accuracy = baseline_measured["accuracy"]
qat_tflite_accuracy = qat_measured["accuracy"]
baseline_latency_ms = baseline_measured["latency_ms"]
qat_latency_ms = qat_measured["latency_ms"]
baseline_memory_bytes = baseline_measured["memory_bytes"]
qat_memory_bytes = qat_measured["memory_bytes"]

# %% [markdown]
# ### Accuracy

# %%
show_table(
    ["model", "Keras", "TFLite (LiteRT)"],
    [
        ["baseline, float", f"{baseline_accuracy:.2%}", f"{baseline_tflite_accuracy:.2%}"],
        ["QAT, 8-bit integer", f"{qat_accuracy:.2%}", f"{qat_tflite_accuracy:.2%}"],
        ["change", "", f"{100 * (qat_tflite_accuracy - baseline_tflite_accuracy):+.2f} points"],
    ],
)

# %% [markdown]
# The quantized TFLite model is within 1 point of the float model, and it scores within 0.2 point
# of the Keras QAT model: the rounding the converter applies is the one the model trained with.
# The TFMOT example reports "minimal to no loss in test accuracy" on MNIST; you see the same on
# Fashion-MNIST. The exact change moves a little with the seed.
#
# ### Size

# %%
show_table(
    ["model", ".tflite bytes", "zipped bytes", "times smaller than the float .tflite"],
    [
        [
            "baseline, float",
            f"{baseline_tflite_bytes:,}",
            f"{baseline_tflite_zipped_bytes:,}",
            "1.00x",
        ],
        [
            "QAT, 8-bit integer",
            f"{qat_tflite_bytes:,}",
            f"{qat_tflite_zipped_bytes:,}",
            f"{baseline_tflite_bytes / qat_tflite_bytes:.2f}x",
        ],
    ],
)

# %% [markdown]
# On disk, without any compression, the quantized model is 3x smaller than the float one. The
# published TFMOT example says "4x smaller": one byte per weight instead of four. The ratio of the
# whole files is lower because a `.tflite` file also holds the graph, the biases (kept as 32-bit
# integers) and the quantization scales, which do not shrink; the bigger the model, the smaller
# their share of the file.
#
# ### Latency and memory

# %%
show_table(
    ["model", "median ms", "p10 ms", "p90 ms", "speed-up vs float", "runtime memory bytes"],
    [
        [
            name,
            f"{m['latency_ms']:.4f}",
            f"{m['latency_p10_ms']:.4f}",
            f"{m['latency_p90_ms']:.4f}",
            f"{baseline_latency_ms / m['latency_ms']:.2f}x",
            f"{m['memory_bytes']:,}",
        ]
        for name, m in [
            ("baseline, float", baseline_measured),
            ("QAT, 8-bit integer", qat_measured),
        ]
    ],
)

# %% [markdown]
# The TFMOT overview promises "1.5-4x improvements in CPU latency" for quantized models; that is a
# published figure measured on phones, which this tutorial cannot reproduce. The table shows what
# the 8-bit kernels do on the machine that ran this notebook. This model is so small that one
# inference takes well under a millisecond, so fixed costs weigh heavily and the times move from
# run to run; on a larger model the integer kernels matter more. The memory column is mostly the
# interpreter itself: for a model this small, quantization saves storage and download, not RAM.
#
# ## Summary

# %%
summary = [
    ("baseline\nfloat", baseline_measured, baseline_accuracy),
    ("QAT\n8-bit integer", qat_measured, qat_accuracy),
]
fig, (size_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(9, 3.5))
bars = size_ax.bar(
    [name for name, _, _ in summary],
    [m["tflite_bytes"] / 1024 for _, m, _ in summary],
    color=["#b0b0b0", "#1f77b4"],
)
size_ax.bar_label(bars, fmt="%.1f KiB")
size_ax.set_ylabel(".tflite size (KiB)")
size_ax.set_title("File size")
bars = accuracy_ax.bar(
    [name for name, _, _ in summary],
    [100 * m["accuracy"] for _, m, _ in summary],
    color=["#b0b0b0", "#1f77b4"],
)
accuracy_ax.bar_label(bars, fmt="%.2f%%")
accuracy_ax.set_ylim(min(100 * m["accuracy"] for _, m, _ in summary) - 5, 100)
accuracy_ax.set_ylabel("LiteRT top-1 accuracy (%)")
accuracy_ax.set_title("Test accuracy")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What you did
#
# * You trained a float baseline and measured it before quantizing.
# * You wrapped it with `quantize_model` and fine-tuned it briefly with a low learning rate, after
#   which its input and activation ranges matched your data.
# * You converted it with `Optimize.DEFAULT`, which turned the simulated quantization into a
#   TFLite model with 8-bit integer weights, and checked in LiteRT that it kept the accuracy of
#   the float model.
#
# To go further, see the comprehensive guide of this series: quantize only some layers, choose
# your own quantizers, save and restore a QAT model, and try fewer than 8 bits.
