# %% [markdown]
# # Prune a Keras model to shrink it

# %% [markdown]
# Magnitude pruning sets the smallest weights of a trained network to zero while it keeps
# training, so that the network learns to do without them. A file full of zeros compresses
# very well, which makes pruning a good way to shrink a model you have to download or ship.
#
# In this tutorial you will:
#
# 1. train a small image classifier on Fashion-MNIST,
# 2. prune it with the TensorFlow Model Optimization Toolkit (TFMOT) until 80% of the weights
#    of its convolution and dense kernels are zero,
# 3. export it as a Keras `.h5` file and as a TensorFlow Lite model, alone and combined with
#    post-training quantization,
# 4. measure what changed: compressed size, accuracy, speed and memory, with the LiteRT
#    interpreter that runs `.tflite` models on devices.
#
# You get a table and a chart that compare the baseline with its pruned versions. In our runs
# (three seeds), once zipped, the pruned and quantized TFLite model is nearly 9x smaller than the
# baseline Keras model, and the pruned model stays within 2 points of the baseline's accuracy.

# %%
# tutorial-gen: setup

# %% [markdown]
# ## Set up
#
# TFMOT 0.8 works with Keras 2 only, so the next cell asks TensorFlow for its legacy Keras (the
# `tf_keras` package) before TensorFlow is imported. Every file this tutorial writes goes into
# a fresh temporary directory, `workdir`.

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import math
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

print(
    f"TensorFlow {tf.__version__}, tf_keras {keras.__version__}, "
    f"TFMOT {tfmot.__version__}, NumPy {np.__version__}"
)

workdir = tempfile.mkdtemp(prefix="pruning_")
print(f"files go to {workdir}")

# %% [markdown]
# The parameters of the run. The numbers quoted in this tutorial come from these values;
# lower `train_samples` and the epochs for a quick try.

# %% tags=["parameters"]
seed = 42
baseline_epochs = 4
pruning_epochs = 2
train_samples = 60000  # size of the training subset (60000: all of Fashion-MNIST)
batch_size = 128
initial_sparsity = 0.50
final_sparsity = 0.80
latency_budget_s = 60  # seconds at most for timing the three models against each other

# %% [markdown]
# The next cell defines the measuring helpers this tutorial uses: `file_size` and
# `zipped_size` for files on disk, `tflite_accuracy`, `compare_latency` and
# `tflite_runtime_memory` for models run by the LiteRT interpreter, `sparsity` to count zero
# weights, and `show_table` to print results. Every tutorial in this series measures with the
# same code, so their numbers compare.

# %%
# tutorial-gen: include measure

# %% [markdown]
# ## Load Fashion-MNIST
#
# Fashion-MNIST has 28x28 grayscale pictures of clothes in ten classes. The next cell scales the pixels
# to [0, 1] and keeps the first `train_samples` training images. Seeding Python, NumPy and
# TensorFlow with `seed` first makes the run repeatable.

# %%
keras.utils.set_random_seed(seed)

(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
x_train = (x_train / 255.0).astype(np.float32)[:train_samples]
y_train = y_train[:train_samples]
x_test = (x_test / 255.0).astype(np.float32)
print(f"training images: {x_train.shape}, test images: {x_test.shape}")

# %% [markdown]
# ## Train the baseline
#
# A deliberately small network: one convolution, one pooling layer and a dense classifier.
# Keras holds back the last tenth of the training images to report validation accuracy after
# each epoch.

# %%
validation_split = 0.1

baseline_model = keras.Sequential(
    [
        keras.layers.InputLayer(input_shape=(28, 28)),
        keras.layers.Reshape(target_shape=(28, 28, 1)),
        keras.layers.Conv2D(filters=12, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dense(10),
    ]
)
baseline_model.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
baseline_model.summary()
_ = baseline_model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=baseline_epochs,
    validation_split=validation_split,
    verbose=2,
)

# %% [markdown]
# ## Save and measure the baseline now
#
# Measure the baseline before you prune it. `prune_low_magnitude` does not copy the model: it
# wraps the very layer objects of `baseline_model`, so fine-tuning the pruned model also
# rewrites the baseline's weights. A baseline saved after pruning is the pruned model.
#
# You keep two files: a Keras `.h5` without optimizer state and a float TensorFlow Lite model.
# For each, the next cell records the size on disk and the size of a zip archive holding it.

# %%
_, baseline_accuracy = baseline_model.evaluate(x_test, y_test, verbose=0)

baseline_h5 = os.path.join(workdir, "baseline.h5")
keras.models.save_model(baseline_model, baseline_h5, include_optimizer=False)
baseline_h5_bytes = file_size(baseline_h5)
baseline_h5_zipped_bytes = zipped_size(baseline_h5)

baseline_tflite = os.path.join(workdir, "baseline.tflite")
with open(baseline_tflite, "wb") as f:
    f.write(tf.lite.TFLiteConverter.from_keras_model(baseline_model).convert())
baseline_tflite_bytes = file_size(baseline_tflite)
baseline_tflite_zipped_bytes = zipped_size(baseline_tflite)

show_table(
    ["baseline", "value"],
    [
        ["Keras test accuracy", f"{baseline_accuracy:.2%}"],
        [".h5 bytes (zipped)", f"{baseline_h5_bytes:,} ({baseline_h5_zipped_bytes:,})"],
        [".tflite bytes (zipped)", f"{baseline_tflite_bytes:,} ({baseline_tflite_zipped_bytes:,})"],
    ],
)

# %% [markdown]
# Zipping saves little here: trained float weights look almost like random bytes to a
# compressor.
#
# ## Prune while fine-tuning
#
# `prune_low_magnitude` wraps every layer. Each wrapper keeps a mask per kernel and, on a
# schedule, zeroes the weights with the smallest magnitude. `PolynomialDecay` raises the target
# from `initial_sparsity` to `final_sparsity` over the fine-tuning steps, quickly at first and
# then more gently. Biases are left alone.
#
# The schedule counts optimizer steps. The next cell computes `end_step` from the number of training
# images, the batch size and `pruning_epochs`. Masks change only every `frequency` steps, and
# only when the step count is a multiple of it. The default of 100 steps is too coarse for a
# small subset: one short epoch may never reach step 100, and then no mask is ever applied. So
# the masks are updated about twenty times over the run, and `end_step` sits on an update step,
# where the model reaches `final_sparsity`.

# %%
steps_per_epoch = math.ceil(int(len(x_train) * (1 - validation_split)) / batch_size)
total_steps = steps_per_epoch * pruning_epochs
pruning_frequency = max(1, total_steps // 20)
end_step = (total_steps // pruning_frequency) * pruning_frequency
print(
    f"{total_steps} fine-tuning steps; masks updated every {pruning_frequency} steps; "
    f"final sparsity from step {end_step}"
)

pruning_schedule = tfmot.sparsity.keras.PolynomialDecay(
    initial_sparsity=initial_sparsity,
    final_sparsity=final_sparsity,
    begin_step=0,
    end_step=end_step,
    frequency=pruning_frequency,
)
pruned_model = tfmot.sparsity.keras.prune_low_magnitude(
    baseline_model, pruning_schedule=pruning_schedule
)
pruned_model.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
pruned_model.summary()

# %% [markdown]
# The summary shows new non-trainable parameters: the masks and thresholds of the wrappers.
# Fine-tuning needs the `UpdatePruningStep` callback, which advances the schedule; without it,
# training stops with an error.

# %%
pruned_model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=pruning_epochs,
    validation_split=validation_split,
    verbose=2,
    callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
)
_, pruned_accuracy = pruned_model.evaluate(x_test, y_test, verbose=0)

show_table(
    ["model", "Keras test accuracy"],
    [
        ["baseline", f"{baseline_accuracy:.2%}"],
        ["pruned", f"{pruned_accuracy:.2%}"],
        ["change", f"{100 * (pruned_accuracy - baseline_accuracy):+.2f} points"],
    ],
)

# %% [markdown]
# In our runs the pruned model stays within 2 points of the baseline, and within 1.5 in the
# median seed; the gap moves with the seed (and with the number of threads training runs on),
# from about half a point to about one and a half. Fashion-MNIST is harder than the
# handwritten digits of MNIST, and this network is tiny, so it has less slack to give up.
#
# ## Strip the wrappers and look at the zeros
#
# "I pruned my model and the file did not get smaller" is the most common surprise with
# pruning. Two things are going on:
#
# * Pruning replaces weights by zeros but keeps the dense layout: a zero takes as many bytes as
#   any other float. The file shrinks only once it is compressed, for example zipped.
# * Until you call `strip_pruning`, the model still carries the wrappers' masks and thresholds.
#   Saved as they are, they make the file about twice as large as the baseline on disk.
#
# `strip_pruning` returns a plain Keras model with the pruned weights. Count its zeros,
# kernel by kernel.

# %%
pruned_unstripped_h5 = os.path.join(workdir, "pruned_unstripped.h5")
keras.models.save_model(pruned_model, pruned_unstripped_h5, include_optimizer=False)
pruned_unstripped_h5_bytes = file_size(pruned_unstripped_h5)
pruned_unstripped_h5_zipped_bytes = zipped_size(pruned_unstripped_h5)

stripped_model = tfmot.sparsity.keras.strip_pruning(pruned_model)
kernel_layers = [layer for layer in stripped_model.layers if hasattr(layer, "kernel")]
pruned_sparsity = sparsity([layer.kernel.numpy() for layer in kernel_layers])
show_table(
    ["layer", "kernel shape", "zero weights"],
    [
        [layer.name, tuple(layer.kernel.shape), f"{sparsity([layer.kernel.numpy()]):.2%}"]
        for layer in kernel_layers
    ]
    + [["all kernels", "", f"{pruned_sparsity:.2%}"]],
)

# %% [markdown]
# 80% of the weights in the kernels are now exactly zero. (The convolution kernel is tiny, so
# its share is rounded to whole weights.)
#
# Now save the stripped model and compare the three `.h5` files.

# %%
pruned_h5 = os.path.join(workdir, "pruned.h5")
keras.models.save_model(stripped_model, pruned_h5, include_optimizer=False)
pruned_h5_bytes = file_size(pruned_h5)
pruned_h5_zipped_bytes = zipped_size(pruned_h5)

show_table(
    [".h5 file", "bytes", "zipped bytes", "zipped: times smaller than baseline"],
    [
        [name, f"{raw:,}", f"{zipped:,}", f"{baseline_h5_zipped_bytes / zipped:.2f}x"]
        for name, raw, zipped in [
            ("baseline", baseline_h5_bytes, baseline_h5_zipped_bytes),
            (
                "pruned, with wrappers",
                pruned_unstripped_h5_bytes,
                pruned_unstripped_h5_zipped_bytes,
            ),
            ("pruned, stripped", pruned_h5_bytes, pruned_h5_zipped_bytes),
        ]
    ],
)

# %% [markdown]
# On disk the stripped file has exactly as many bytes as the baseline, and the file with
# wrappers is about twice as large. Zipped, the picture turns around:
# the stripped model zips 3x smaller than the baseline.
# The file with wrappers compresses well too, because its masks are runs of zeros and ones,
# but the archive gets smaller once stripped. Strip before you export.
#
# ## Convert to TensorFlow Lite, then add quantization
#
# The stripped model converts like any Keras model. Pruning combines well with post-training
# dynamic-range quantization, which stores the weights as 8-bit integers instead of 32-bit
# floats: a zero stays a zero, so the sparsity survives.

# %%
pruned_tflite = os.path.join(workdir, "pruned.tflite")
with open(pruned_tflite, "wb") as f:
    f.write(tf.lite.TFLiteConverter.from_keras_model(stripped_model).convert())
pruned_tflite_bytes = file_size(pruned_tflite)
pruned_tflite_zipped_bytes = zipped_size(pruned_tflite)

converter = tf.lite.TFLiteConverter.from_keras_model(stripped_model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
pruned_quantized_tflite = os.path.join(workdir, "pruned_quantized.tflite")
with open(pruned_quantized_tflite, "wb") as f:
    f.write(converter.convert())
pruned_quantized_tflite_bytes = file_size(pruned_quantized_tflite)
pruned_quantized_tflite_zipped_bytes = zipped_size(pruned_quantized_tflite)

show_table(
    [".tflite file", "bytes", "zipped bytes", "zipped: times smaller than baseline .h5"],
    [
        [name, f"{raw:,}", f"{zipped:,}", f"{baseline_h5_zipped_bytes / zipped:.2f}x"]
        for name, raw, zipped in [
            ("baseline, float", baseline_tflite_bytes, baseline_tflite_zipped_bytes),
            ("pruned, float", pruned_tflite_bytes, pruned_tflite_zipped_bytes),
            (
                "pruned + quantized",
                pruned_quantized_tflite_bytes,
                pruned_quantized_tflite_zipped_bytes,
            ),
        ]
    ],
)

# %% [markdown]
# As with `.h5`, the pruned float `.tflite` has exactly as many bytes as the baseline on disk,
# and once zipped the pruned TFLite model is 3x smaller as well.
# Quantization makes the pruned file 3x smaller on disk before any zipping; pruned and
# quantized, the zipped model is nearly 9x smaller than the zipped baseline `.h5`.
#
# The published figures of the TFMOT pruning tutorial are 3x for the pruned models and 10x for
# pruned plus quantized, measured on MNIST. On Fashion-MNIST this model matches the first figure
# and falls a little short of the second.
#
# ## Check accuracy in TFLite
#
# Conversion should not change what the model predicts. The next cell runs every test image through the
# LiteRT interpreter, for each `.tflite` file.

# %%
baseline_tflite_accuracy = tflite_accuracy(baseline_tflite, x_test, y_test)
pruned_tflite_accuracy = tflite_accuracy(pruned_tflite, x_test, y_test)
pruned_quantized_tflite_accuracy = tflite_accuracy(pruned_quantized_tflite, x_test, y_test)

show_table(
    ["model", "Keras", "TFLite (LiteRT)"],
    [
        ["baseline", f"{baseline_accuracy:.2%}", f"{baseline_tflite_accuracy:.2%}"],
        ["pruned", f"{pruned_accuracy:.2%}", f"{pruned_tflite_accuracy:.2%}"],
        ["pruned + quantized", "", f"{pruned_quantized_tflite_accuracy:.2%}"],
    ],
)

# %% [markdown]
# The float TFLite models score within 0.1 point of their Keras versions, and quantizing the
# pruned model keeps it within 0.5 point of the pruned Keras model: the accuracy carries over
# to TFLite.
#
# ## Measure latency
#
# Does a model with mostly zero weights run faster? Timing one model and then the next would let
# a busy moment of the machine fall on one of them only, so the next cell times the three
# together: in each round, 50 single-image `invoke()` calls of each model on one thread, in an
# order that changes from round to round, keeping each model's median. Rounds go on until the
# comparison is clear (at most `latency_budget_s` seconds), and the table shows each model's
# median of the round medians, the spread of its rounds, and its ratio to the baseline with a
# bootstrap confidence interval over the rounds.

# %%
latency = compare_latency(
    {
        "baseline": baseline_tflite,
        "pruned": pruned_tflite,
        "pruned_quantized": pruned_quantized_tflite,
    },
    sample=x_test[0],
    budget_s=latency_budget_s,
)
baseline_latency_ms = latency["baseline"]["median_ms"]
baseline_latency_ms_samples = latency["baseline"]["rounds_ms"]
pruned_latency_ms = latency["pruned"]["median_ms"]
pruned_latency_ms_samples = latency["pruned"]["rounds_ms"]
pruned_quantized_latency_ms = latency["pruned_quantized"]["median_ms"]
pruned_quantized_latency_ms_samples = latency["pruned_quantized"]["rounds_ms"]

show_latency(
    latency,
    baseline="baseline",
    labels={
        "baseline": "baseline, float",
        "pruned": "pruned, float",
        "pruned_quantized": "pruned + quantized",
    },
)

# %% [markdown]
# The pruned float model runs at about the same speed as the baseline. That is expected:
# pruning weights one by one leaves the matrices dense, and the CPU kernels multiply the zeros
# like any other number. Unstructured sparsity buys size, not speed, unless the runtime has
# kernels built for it. The pruned and quantized model was faster than the float baseline in
# each of our runs (three seeds, each comparison decided by its interval); credit quantization,
# whose kernels work with 8-bit weights, not the zeros.
#
# ## Measure runtime memory
#
# Last, the peak memory that loading, allocating and running each model adds to a fresh
# process that has LiteRT imported.

# %%
baseline_memory_bytes = tflite_runtime_memory(baseline_tflite)
pruned_quantized_memory_bytes = tflite_runtime_memory(pruned_quantized_tflite)

show_table(
    ["model", "model file bytes", "runtime memory bytes"],
    [
        ["baseline, float", f"{baseline_tflite_bytes:,}", f"{baseline_memory_bytes:,}"],
        [
            "pruned + quantized",
            f"{pruned_quantized_tflite_bytes:,}",
            f"{pruned_quantized_memory_bytes:,}",
        ],
    ],
)

# %% [markdown]
# Both stay under 5 MB, and the models themselves are a small part of that: most of it is the
# interpreter and its buffers. For a model this small, pruning saves download and storage, not
# memory.
#
# ## Summary

# %%
summary = [  # model, accuracy, bytes, zipped bytes, median latency in ms
    ("baseline .h5", baseline_accuracy, baseline_h5_bytes, baseline_h5_zipped_bytes, None),
    ("pruned .h5, stripped", pruned_accuracy, pruned_h5_bytes, pruned_h5_zipped_bytes, None),
    (
        "baseline .tflite",
        baseline_tflite_accuracy,
        baseline_tflite_bytes,
        baseline_tflite_zipped_bytes,
        baseline_latency_ms,
    ),
    (
        "pruned .tflite",
        pruned_tflite_accuracy,
        pruned_tflite_bytes,
        pruned_tflite_zipped_bytes,
        pruned_latency_ms,
    ),
    (
        "pruned + quantized .tflite",
        pruned_quantized_tflite_accuracy,
        pruned_quantized_tflite_bytes,
        pruned_quantized_tflite_zipped_bytes,
        pruned_quantized_latency_ms,
    ),
]
show_table(
    [
        "model",
        "accuracy",
        "bytes",
        "zipped bytes",
        "zipped: times smaller than baseline .h5",
        "latency ms",
    ],
    [
        [
            name,
            f"{accuracy:.2%}",
            f"{raw:,}",
            f"{zipped:,}",
            f"{baseline_h5_zipped_bytes / zipped:.2f}x",
            "" if ms is None else f"{ms:.4f}",
        ]
        for name, accuracy, raw, zipped, ms in summary
    ],
)

# %%
files = [
    ("baseline\n.h5", baseline_h5_bytes, baseline_h5_zipped_bytes),
    ("pruned .h5\nwrappers", pruned_unstripped_h5_bytes, pruned_unstripped_h5_zipped_bytes),
    ("pruned .h5\nstripped", pruned_h5_bytes, pruned_h5_zipped_bytes),
    ("baseline\n.tflite", baseline_tflite_bytes, baseline_tflite_zipped_bytes),
    ("pruned\n.tflite", pruned_tflite_bytes, pruned_tflite_zipped_bytes),
    ("pruned +\nquantized", pruned_quantized_tflite_bytes, pruned_quantized_tflite_zipped_bytes),
]
positions = np.arange(len(files))
fig, ax = plt.subplots(figsize=(9, 4))
ax.bar(
    positions - 0.2,
    [raw / 1024 for _, raw, _ in files],
    width=0.4,
    label="on disk",
    color="#b0b0b0",
)
bars = ax.bar(
    positions + 0.2,
    [zipped / 1024 for _, _, zipped in files],
    width=0.4,
    label="zipped",
    color="#1f77b4",
)
ax.bar_label(bars, fmt="%.0f", fontsize=8)
ax.set_xticks(positions, [name for name, _, _ in files])
ax.set_ylabel("KiB")
ax.set_title("Model size: pruning pays off once the file is compressed")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What you did
#
# * You measured the baseline before pruning, because the pruning wrappers share its layers.
# * You pruned with a schedule whose masks update often enough to reach the final sparsity.
# * You stripped the wrappers before export; the zeros then pay off as soon as the file is
#   compressed, and even more with quantization on top.
# * You checked that accuracy carries over to TFLite, and that unstructured sparsity alone does
#   not make inference faster.
#
# To go further, try pruning only some layers (pass single layers to `prune_low_magnitude`
# through `keras.models.clone_model`), or a higher `final_sparsity`, and watch the trade-off
# between zipped size and accuracy.
