# %% [markdown]
# # Cluster the weights of a Keras model to shrink it

# %% [markdown]
# Weight clustering replaces the many different weights of each layer by a small set of shared
# values, the centroids of the clusters they fall into. After clustering, a kernel with thousands
# of weights holds only 16 distinct numbers, repeated over and over. A compressor such as zip
# stores that kind of repetition in far fewer bytes, which is what you want for a model you
# download or ship with an app.
#
# In this tutorial you will:
#
# 1. train a small image classifier on Fashion-MNIST and save it as the baseline,
# 2. cluster its weights into 16 clusters with the TensorFlow Model Optimization Toolkit (TFMOT)
#    and fine-tune it briefly,
# 3. export it as a Keras `.h5` file and as a TensorFlow Lite model, and look inside the `.tflite`
#    to check that every kernel really holds at most 16 values,
# 4. add post-training quantization on top, and check the accuracy of every model with the LiteRT
#    interpreter that runs `.tflite` files on devices.
#
# You get tables and charts that compare the baseline with its clustered versions. In your run the
# clustered model zips 6x smaller than the baseline, 8x smaller with quantization added, and its
# accuracy stays within 1 point of the baseline.

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
train_samples = 60000  # size of the training subset (60000: all of Fashion-MNIST)
batch_size = 128
baseline_epochs = 8
number_of_clusters = 16
clustering_epochs = 2
clustering_learning_rate = 1e-4  # ten times lower than the 1e-3 the baseline trains with

# %% [markdown]
# The next cells define the helpers this tutorial uses. `measure` has `file_size`, `zipped_size`,
# `tflite_accuracy` and `show_table`; `models` loads Fashion-MNIST and builds the tutorial's small
# CNN; `convert` turns a Keras model into a `.tflite` flatbuffer; `weights` reads the weight
# tensors back out of a `.tflite` file. Every tutorial in this series measures with the same code,
# so their numbers compare.

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
# Fashion-MNIST has 28x28 grayscale pictures of clothes in ten classes. `load_fashion_mnist`
# scales the pixels to [0, 1] and keeps the first `train_samples` training images; the test set
# always has all 10,000 images. Every file this tutorial writes goes into a fresh temporary
# directory.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="clustering_")

(x_train, y_train), (x_test, y_test) = load_fashion_mnist(train_samples)
print(f"training images: {x_train.shape}, test images: {x_test.shape}")
print(f"files go to {workdir}")

# %% [markdown]
# ## Train the baseline
#
# The network of the TFMOT tutorials: one 3x3 convolution with 12 filters, max pooling and a
# dense classifier, about 20,000 weights in all. Keras holds back the last tenth of the
# training images to report validation accuracy after each epoch.

# %%
baseline_model = compile_for_training(tutorial_cnn())
baseline_model.summary()
baseline_model.fit(
    x_train, y_train, batch_size=batch_size, epochs=baseline_epochs, validation_split=0.1, verbose=2
)

# %% [markdown]
# ## Save and measure the baseline now
#
# `cluster_weights` does not copy your model's layers: its wrappers hold the very layer objects of
# `baseline_model`, so fine-tuning the clustered model rewrites the baseline's weights too. Measure
# and save the baseline before you cluster it.
#
# You keep a Keras `.h5` file without optimizer state and a float TensorFlow Lite model, and record
# for each the bytes on disk and the bytes of a zip archive holding it. You also keep a copy of the
# dense kernel, to look at its values later.

# %%
baseline_accuracy = keras_accuracy(baseline_model, x_test, y_test)

baseline_h5 = os.path.join(workdir, "baseline.h5")
keras.models.save_model(baseline_model, baseline_h5, include_optimizer=False)
baseline_h5_bytes = file_size(baseline_h5)
baseline_h5_zipped_bytes = zipped_size(baseline_h5)

baseline_tflite = to_tflite(baseline_model, "float")
baseline_tflite_path = save_bytes(baseline_tflite, workdir, "baseline.tflite")
baseline_tflite_bytes = file_size(baseline_tflite_path)
baseline_tflite_zipped_bytes = zipped_size(baseline_tflite_path)

baseline_dense_kernel = baseline_model.layers[-1].kernel.numpy().copy()

show_table(
    ["baseline", "value"],
    [
        ["Keras test accuracy", f"{baseline_accuracy:.2%}"],
        [".h5 bytes (zipped)", f"{baseline_h5_bytes:,} ({baseline_h5_zipped_bytes:,})"],
        [".tflite bytes (zipped)", f"{baseline_tflite_bytes:,} ({baseline_tflite_zipped_bytes:,})"],
    ],
)

# %% [markdown]
# Zipping hardly shrinks the baseline: trained float weights are all different, and to a compressor
# they look like random bytes.
#
# ## Cluster the weights
#
# `cluster_weights` puts every layer of the model in a `ClusterWeights` wrapper. For each layer
# with a kernel (here the convolution and the dense layer), the wrapper keeps `number_of_clusters`
# centroids and, for each weight, the index of the centroid it belongs to. In the forward pass
# every weight is replaced by its centroid. The other layers pass through unchanged.
#
# The centroids need a starting point. `CentroidInitialization.LINEAR` spaces them evenly between
# the smallest and the largest weight of the kernel, which keeps a centroid near the large weights
# that matter most, however few they are. (The comprehensive guide of this series compares the
# other initializations.)

# %%
clustered_model = tfmot.clustering.keras.cluster_weights(
    baseline_model,
    number_of_clusters=number_of_clusters,
    cluster_centroids_init=tfmot.clustering.keras.CentroidInitialization.LINEAR,
)
compile_for_training(clustered_model, learning_rate=clustering_learning_rate)
clustered_model.summary()

# %% [markdown]
# The summary lists the wrappers and the new parameters of the convolution and the dense layer:
# the centroids (trainable) and the centroid indices (not trainable). Right after clustering, before any training, the model has
# already lost some accuracy, because every weight moved to its nearest centroid:

# %%
clustered_before_finetuning_accuracy = keras_accuracy(clustered_model, x_test, y_test)
print(
    f"baseline {baseline_accuracy:.2%}, clustered before fine-tuning "
    f"{clustered_before_finetuning_accuracy:.2%}"
)

# %% [markdown]
# ## Fine-tune
#
# A short fine-tuning with a low learning rate wins most of it back. The gradients of all the weights
# in a cluster are summed to update its centroid, and weights may change cluster along the way.

# %%
clustered_model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=clustering_epochs,
    validation_split=0.1,
    verbose=2,
)
clustered_accuracy = keras_accuracy(clustered_model, x_test, y_test)

show_table(
    ["model", "Keras test accuracy", "change"],
    [
        ["baseline", f"{baseline_accuracy:.2%}", ""],
        [
            "clustered, before fine-tuning",
            f"{clustered_before_finetuning_accuracy:.2%}",
            f"{100 * (clustered_before_finetuning_accuracy - baseline_accuracy):+.2f} points",
        ],
        [
            "clustered, fine-tuned",
            f"{clustered_accuracy:.2%}",
            f"{100 * (clustered_accuracy - baseline_accuracy):+.2f} points",
        ],
    ],
)

# %% [markdown]
# After fine-tuning, the clustered model is within 1 point of the baseline's accuracy: a minimal
# loss for a model whose kernels now hold 16 values each.
#
# ## Strip the wrappers and export
#
# The wrappers are only needed for training. Saved as they are, they carry the original weights,
# the centroids and an index per weight, which makes the file larger than the baseline.
# `strip_clustering` returns a plain Keras model whose kernels hold the clustered values: that is
# the model to export.

# %%
clustered_unstripped_h5 = os.path.join(workdir, "clustered_unstripped.h5")
keras.models.save_model(clustered_model, clustered_unstripped_h5, include_optimizer=False)
clustered_unstripped_h5_bytes = file_size(clustered_unstripped_h5)
clustered_unstripped_h5_zipped_bytes = zipped_size(clustered_unstripped_h5)

stripped_model = tfmot.clustering.keras.strip_clustering(clustered_model)
clustered_h5 = os.path.join(workdir, "clustered.h5")
keras.models.save_model(stripped_model, clustered_h5, include_optimizer=False)
clustered_h5_bytes = file_size(clustered_h5)
clustered_h5_zipped_bytes = zipped_size(clustered_h5)

clustered_tflite = to_tflite(stripped_model, "float")
clustered_tflite_path = save_bytes(clustered_tflite, workdir, "clustered.tflite")
clustered_tflite_bytes = file_size(clustered_tflite_path)
clustered_tflite_zipped_bytes = zipped_size(clustered_tflite_path)

show_table(
    ["file", "bytes", "zipped bytes", "zipped: times smaller than baseline .h5"],
    [
        [name, f"{raw:,}", f"{zipped:,}", f"{baseline_h5_zipped_bytes / zipped:.2f}x"]
        for name, raw, zipped in [
            ("baseline .h5", baseline_h5_bytes, baseline_h5_zipped_bytes),
            (
                "clustered .h5, with wrappers",
                clustered_unstripped_h5_bytes,
                clustered_unstripped_h5_zipped_bytes,
            ),
            ("clustered .h5, stripped", clustered_h5_bytes, clustered_h5_zipped_bytes),
            ("baseline .tflite", baseline_tflite_bytes, baseline_tflite_zipped_bytes),
            ("clustered .tflite", clustered_tflite_bytes, clustered_tflite_zipped_bytes),
        ]
    ],
)

# %% [markdown]
# On disk, the clustered `.tflite` has exactly as many bytes as the baseline `.tflite`, and the
# stripped `.h5` about as many as the baseline `.h5`: a float takes four bytes, whichever value it
# holds. Zipped, the difference shows: both the
# stripped Keras model and the TFLite model are 6x smaller than the zipped baseline `.h5`. The
# TFMOT clustering example publishes the same 6x for its MNIST model, measured the same way.
# The file with wrappers, though, stays larger than the baseline even zipped, because it still
# holds every original float weight next to the centroids. Strip before you export.
#
# ## Look inside the `.tflite` file
#
# Did the clustering survive the conversion? `tflite_kernels` reads the constant weight tensors
# back out of the flatbuffer, and `unique_values` counts the distinct numbers in each.

# %%
baseline_kernels = tflite_kernels(baseline_tflite)
clustered_kernels = tflite_kernels(clustered_tflite)
show_table(
    ["kernel in the .tflite", "shape", "distinct values, baseline", "distinct values, clustered"],
    [
        [
            name,
            tuple(kernel.shape),
            f"{unique_values(baseline_kernels[name]):,}",
            f"{unique_values(kernel):,}",
        ]
        for name, kernel in clustered_kernels.items()
    ],
)
max_unique_values_per_kernel = max(unique_values(k) for k in clustered_kernels.values())
baseline_max_unique_values_per_kernel = max(unique_values(k) for k in baseline_kernels.values())
print(f"most distinct values in any clustered kernel: {max_unique_values_per_kernel}")

# %% [markdown]
# Every kernel of the clustered `.tflite` holds at most 16 distinct values, against thousands in
# the baseline. (A kernel may hold fewer than 16 if a cluster ends up empty.) The biases are not
# clustered: they are few, and clustering them costs accuracy for almost no gain in size.
#
# A histogram of the dense kernel shows what happened: the smooth spread of the baseline's weights
# has collapsed onto a few spikes, one per centroid.

# %%
clustered_dense_kernel = stripped_model.layers[-1].kernel.numpy()
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharex=True)
axes[0].hist(baseline_dense_kernel.ravel(), bins=200, color="#b0b0b0")
axes[0].set_title("dense kernel, baseline")
values, counts = np.unique(clustered_dense_kernel, return_counts=True)
axes[1].bar(values, counts, width=(values.max() - values.min()) / 150, color="#1f77b4")
axes[1].set_title(f"dense kernel, clustered ({values.size} distinct values)")
for ax in axes:
    ax.set_xlabel("weight value")
axes[0].set_ylabel("number of weights")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Add post-training quantization
#
# Clustering and quantization work well together. Post-training dynamic-range quantization stores
# each weight as an 8-bit integer instead of a 32-bit float. With only 16 values per kernel, the
# quantized kernel still repeats a handful of bytes, so zip keeps its advantage.

# %%
clustered_quantized_tflite = to_tflite(stripped_model, "dynamic")
clustered_quantized_tflite_path = save_bytes(
    clustered_quantized_tflite, workdir, "clustered_quantized.tflite"
)
clustered_quantized_tflite_bytes = file_size(clustered_quantized_tflite_path)
clustered_quantized_tflite_zipped_bytes = zipped_size(clustered_quantized_tflite_path)

quantized_kernels = tflite_kernels(clustered_quantized_tflite)
show_table(
    [
        "kernel in the quantized .tflite",
        "dtype",
        "distinct values",
        "most distinct values in one output channel",
    ],
    [
        [
            name,
            str(kernel.dtype),
            unique_values(kernel),
            max(unique_values(channel) for channel in kernel),
        ]
        for name, kernel in quantized_kernels.items()
    ],
)
quantized_max_unique_values_per_channel = max(
    unique_values(channel) for kernel in quantized_kernels.values() for channel in kernel
)

show_table(
    ["file", "bytes", "zipped bytes", "zipped: times smaller than baseline .h5"],
    [
        [name, f"{raw:,}", f"{zipped:,}", f"{baseline_h5_zipped_bytes / zipped:.2f}x"]
        for name, raw, zipped in [
            ("baseline .h5", baseline_h5_bytes, baseline_h5_zipped_bytes),
            ("clustered .tflite", clustered_tflite_bytes, clustered_tflite_zipped_bytes),
            (
                "clustered + quantized .tflite",
                clustered_quantized_tflite_bytes,
                clustered_quantized_tflite_zipped_bytes,
            ),
        ]
    ],
)

# %% [markdown]
# The converter quantizes each output channel of a kernel with its own scale, so a whole kernel
# may now hold more than 16 integers, but each output channel still has at most 16 distinct
# values. The zipped clustered and quantized model is 8x smaller than the zipped baseline `.h5`,
# the figure the TFMOT clustering example publishes for this combination.
#
# ## Check accuracy in TFLite
#
# Last, every test image goes through the LiteRT interpreter, for each `.tflite` file.

# %%
baseline_tflite_accuracy = tflite_accuracy(baseline_tflite, x_test, y_test)
clustered_tflite_accuracy = tflite_accuracy(clustered_tflite, x_test, y_test)
clustered_quantized_tflite_accuracy = tflite_accuracy(clustered_quantized_tflite, x_test, y_test)

show_table(
    ["model", "Keras", "TFLite (LiteRT)"],
    [
        ["baseline", f"{baseline_accuracy:.2%}", f"{baseline_tflite_accuracy:.2%}"],
        ["clustered", f"{clustered_accuracy:.2%}", f"{clustered_tflite_accuracy:.2%}"],
        ["clustered + quantized", "", f"{clustered_quantized_tflite_accuracy:.2%}"],
    ],
)

# %% [markdown]
# The clustered TFLite model scores within 0.1 point of the clustered Keras model, so the
# conversion keeps what fine-tuning learned. Quantization on top costs a little more accuracy:
# the clustered and quantized model stays within 2 points of the float baseline `.tflite`.
#
# ## Summary

# %%
summary = [
    ("baseline .h5", baseline_accuracy, baseline_h5_bytes, baseline_h5_zipped_bytes),
    ("clustered .h5, stripped", clustered_accuracy, clustered_h5_bytes, clustered_h5_zipped_bytes),
    (
        "baseline .tflite",
        baseline_tflite_accuracy,
        baseline_tflite_bytes,
        baseline_tflite_zipped_bytes,
    ),
    (
        "clustered .tflite",
        clustered_tflite_accuracy,
        clustered_tflite_bytes,
        clustered_tflite_zipped_bytes,
    ),
    (
        "clustered + quantized .tflite",
        clustered_quantized_tflite_accuracy,
        clustered_quantized_tflite_bytes,
        clustered_quantized_tflite_zipped_bytes,
    ),
]
show_table(
    ["model", "test accuracy", "bytes", "zipped bytes", "zipped: times smaller than baseline .h5"],
    [
        [
            name,
            f"{accuracy:.2%}",
            f"{raw:,}",
            f"{zipped:,}",
            f"{baseline_h5_zipped_bytes / zipped:.2f}x",
        ]
        for name, accuracy, raw, zipped in summary
    ],
)

# %%
positions = np.arange(len(summary))
fig, ax = plt.subplots(figsize=(9, 4))
ax.bar(
    positions - 0.2,
    [raw / 1024 for _, _, raw, _ in summary],
    width=0.4,
    label="on disk",
    color="#b0b0b0",
)
bars = ax.bar(
    positions + 0.2,
    [zipped / 1024 for _, _, _, zipped in summary],
    width=0.4,
    label="zipped",
    color="#1f77b4",
)
ax.bar_label(bars, fmt="%.0f", fontsize=8)
ax.set_xticks(
    positions, [name.replace(" .", "\n.").replace(", ", "\n") for name, *_ in summary], fontsize=8
)
ax.set_ylabel("KiB")
ax.set_title("Model size: clustering pays off once the file is compressed")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What you did
#
# * You saved the baseline before clustering, because the clustering wrappers share its layers.
# * You clustered every kernel into 16 shared values and fine-tuned with a low learning rate.
# * You stripped the wrappers before export and checked in the `.tflite` file itself that each
#   kernel holds at most 16 values.
# * You saw that the gain appears once the file is compressed, and that post-training quantization
#   adds to it.
#
# To go further, try fewer clusters (8, or 4) and watch accuracy against zipped size, or cluster
# only the large dense layer; the comprehensive guide shows how.
