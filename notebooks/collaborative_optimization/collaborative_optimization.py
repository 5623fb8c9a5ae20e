# %% [markdown]
# # Prune, cluster and quantize a Keras model without undoing each step

# %% [markdown]
# Pruning, weight clustering and quantization each shrink a model in their own way: pruning
# sets weights to zero, clustering makes many weights share a few values, and quantization
# stores weights as 8-bit integers. Chained naively, each step undoes the one before it:
# fine-tuning for clustering moves the zeros away from zero, and quantization-aware training
# (QAT) lets every weight drift on its own, breaking both the zeros and the shared values.
#
# The collaborative optimization APIs of the TensorFlow Model Optimization Toolkit (TFMOT)
# keep what the previous step achieved. In this tutorial you will:
#
# 1. train the small Fashion-MNIST classifier of the TFMOT tutorials and measure it,
# 2. prune half of its weights to zero,
# 3. cluster the pruned model into 8 shared values per kernel *while keeping the zeros*
#    (sparsity-preserving clustering),
# 4. fine-tune it with quantization-aware training that preserves both the zeros and the
#    clusters (PCQAT) and export an 8-bit integer TensorFlow Lite model,
# 5. compare it with the shortcuts: plain QAT on the same model, QAT alone, and post-training
#    quantization.
#
# At every stage you look inside the exported `.tflite` file itself, because a property that
# does not survive conversion does not reach the device: you count the zero weights and the
# distinct values of each kernel, zip the file, and run the test set through the LiteRT
# interpreter.

# %%
# tutorial-gen: setup

# %% [markdown]
# ## Set up
#
# TFMOT 0.8 works with Keras 2 only, so you ask TensorFlow for its legacy Keras (the
# `tf_keras` package) before TensorFlow is imported.

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import tempfile

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras
from ai_edge_litert.interpreter import Interpreter

print("TensorFlow", tf.__version__, "| tf_keras", keras.__version__, "| TFMOT", tfmot.__version__)

# %% [markdown]
# The parameters of the run. The numbers quoted in this tutorial come from these values; lower
# `train_samples` and the epochs for a quick try.

# %% tags=["parameters"]
seed = 42
train_samples = 60000  # size of the training subset (60000: all of Fashion-MNIST)
batch_size = 128
baseline_epochs = 4
fine_tune_epochs = 1  # epochs of each fine-tuning stage: pruning, clustering, QAT
fine_tune_learning_rate = 1e-4
target_sparsity = 0.5
number_of_clusters = 8

# %% [markdown]
# The next cells bring in the helpers every tutorial of this series shares: `measure` (file
# and zipped sizes, LiteRT accuracy, sparsity, tables), `models` (Fashion-MNIST and the
# tutorial CNN), `convert` (`to_tflite` in its float and int8 modes) and `weights`
# (`tflite_kernels`, which reads the weight tensors back out of a `.tflite` file, and
# `unique_values`).

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include models

# %%
# tutorial-gen: include convert

# %%
# tutorial-gen: include weights

# %% [markdown]
# One more helper of your own: `kernel_structure` reports, for every kernel of a `.tflite`
# model, the share of exact zeros and the number of distinct values.
#
# Counting distinct values needs care once a kernel is quantized. An int8 convolution kernel
# has one scale per output channel, so the same cluster centre becomes a different integer in
# each channel. Clusters are preserved when every slice that shares a scale holds at most as
# many values as there are clusters, so that is what you count: distinct values per
# quantization scale (the whole kernel for float kernels and for per-tensor quantized ones).


# %%
def kernel_structure(tflite_model):
    """Zeros and distinct values (per quantization scale) of the kernels of a .tflite model."""
    details = {d["name"]: d for d in Interpreter(model_content=tflite_model).get_tensor_details()}
    kernels = tflite_kernels(tflite_model)
    rows = []
    for name, kernel in kernels.items():
        quantization = details[name]["quantization_parameters"]
        if len(quantization["scales"]) > 1:
            slices = np.moveaxis(kernel, quantization["quantized_dimension"], 0)
        else:
            slices = [kernel]
        rows.append(
            {
                "kernel": name.split(";")[0],
                "shape": tuple(kernel.shape),
                "dtype": kernel.dtype.name,
                "sparsity": sparsity([kernel]),
                "values": unique_values(kernel),
                "values_per_scale": max(unique_values(s) for s in slices),
            }
        )
    return {
        "sparsity": sparsity(list(kernels.values())),
        "max_values_per_scale": max(row["values_per_scale"] for row in rows),
        "kernels": rows,
    }


def show_structure(structure):
    show_table(
        ["kernel", "shape", "dtype", "zeros", "distinct values", "distinct values per scale"],
        [
            [
                r["kernel"],
                r["shape"],
                r["dtype"],
                f"{r['sparsity']:.2%}",
                r["values"],
                r["values_per_scale"],
            ]
            for r in structure["kernels"]
        ],
    )


def copy_model(model):
    """A new model with the same architecture and weights: the TFMOT wrappers never touch the original."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def fine_tune(model, callbacks=()):
    compile_for_training(model, learning_rate=fine_tune_learning_rate)
    model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=fine_tune_epochs,
        verbose=2,
        callbacks=list(callbacks),
    )
    return model


# %% [markdown]
# ## Load Fashion-MNIST and train the baseline
#
# Fashion-MNIST has 28x28 grayscale pictures of clothes in ten classes. The model is the one
# of the TFMOT tutorials: one 3x3 convolution with 12 filters, max pooling and a dense
# classifier. All the files this tutorial writes go into a fresh temporary directory.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="collaborative_")
(x_train, y_train), (x_test, y_test) = load_fashion_mnist(train_samples)
print(f"training images: {x_train.shape}, test images: {x_test.shape}; files go to {workdir}")

baseline_model = compile_for_training(tutorial_cnn())
baseline_model.summary()
baseline_model.fit(x_train, y_train, batch_size=batch_size, epochs=baseline_epochs, verbose=2)

# %% [markdown]
# ## Measure the baseline first
#
# Measure the baseline before anything wraps it: `prune_low_magnitude`, `cluster_weights` and
# `quantize_model` wrap the layer objects they are given, so training the wrapped model would
# rewrite the baseline's weights. To be safe, every later step starts from `copy_model(...)`.
#
# You keep the baseline as a Keras `.h5` file without optimizer state and as a float `.tflite`
# file, and look at the kernels of the `.tflite` file.


# %%
def save_h5(model, name):
    path = os.path.join(workdir, name)
    keras.models.save_model(model, path, include_optimizer=False)
    return path


def measure_stage(tflite_model, name):
    """Zipped size, LiteRT accuracy and kernel structure of one exported .tflite model."""
    path = save_bytes(tflite_model, workdir, name)
    structure = kernel_structure(tflite_model)
    return {
        "bytes": file_size(path),
        "zipped": zipped_size(path),
        "accuracy": tflite_accuracy(tflite_model, x_test, y_test),
        "sparsity": structure["sparsity"],
        "values": structure["max_values_per_scale"],
        "structure": structure,
    }


baseline_h5_zipped_bytes = zipped_size(save_h5(baseline_model, "baseline.h5"))
baseline = measure_stage(to_tflite(baseline_model, "float"), "baseline.tflite")
baseline_tflite_zipped_bytes = baseline["zipped"]
baseline_tflite_accuracy = baseline["accuracy"]
show_structure(baseline["structure"])
print(f"zipped .tflite: {baseline['zipped']:,} bytes; LiteRT accuracy {baseline['accuracy']:.2%}")

# %% [markdown]
# Trained float weights are almost all different from each other, and hardly any is exactly
# zero, as the table shows. That is why zip can barely shrink the file.
#
# ## Step 1: prune half of the weights
#
# `prune_low_magnitude` with a `ConstantSparsity` schedule zeroes the smallest half of the
# weights of each kernel and keeps them at zero while the model fine-tunes; the
# `UpdatePruningStep` callback drives the schedule. The masks are recomputed every `frequency`
# optimizer steps. Its default of 100 is too coarse for a short fine-tuning run, which may
# never reach the first update, so you use 10. `strip_pruning` then removes the wrappers and
# leaves a plain Keras model whose kernels are half zeros.

# %%
pruning_schedule = tfmot.sparsity.keras.ConstantSparsity(
    target_sparsity, begin_step=0, frequency=10
)
pruned_model = tfmot.sparsity.keras.prune_low_magnitude(
    copy_model(baseline_model), pruning_schedule=pruning_schedule
)
fine_tune(pruned_model, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
pruned_model = tfmot.sparsity.keras.strip_pruning(pruned_model)

pruned_h5_zipped_bytes = zipped_size(save_h5(pruned_model, "pruned.h5"))
pruned = measure_stage(to_tflite(pruned_model, "float"), "pruned.tflite")
pruned_tflite_sparsity = pruned["sparsity"]
pruned_tflite_accuracy = pruned["accuracy"]
show_structure(pruned["structure"])

# %% [markdown]
# In the exported file, 50% of the kernel weights are zero. The other half keep their trained
# values, all different.
#
# ## Step 2: cluster, keeping the zeros
#
# Weight clustering replaces the weights of each kernel by the nearest of a few centroids
# (`number_of_clusters` of them, here 8) and fine-tunes the centroids. Applied to a pruned
# model as it is, it knows nothing about the zeros: they join a cluster whose centroid moves
# during fine-tuning. With `preserve_sparsity=True`, clustering keeps a mask of the zero
# weights and leaves them at zero. Both start from the stripped pruned model; you train both
# to see the difference.

# %%
clustering_params = {
    "number_of_clusters": number_of_clusters,
    "cluster_centroids_init": tfmot.clustering.keras.CentroidInitialization.KMEANS_PLUS_PLUS,
}

plain_clustered_model = tfmot.clustering.keras.cluster_weights(
    copy_model(pruned_model), **clustering_params
)
fine_tune(plain_clustered_model)
plain_clustered_model = tfmot.clustering.keras.strip_clustering(plain_clustered_model)

clustered_model = tfmot.clustering.keras.cluster_weights(
    copy_model(pruned_model), **clustering_params, preserve_sparsity=True
)
fine_tune(clustered_model)
clustered_model = tfmot.clustering.keras.strip_clustering(clustered_model)

plain_clustered_h5_zipped_bytes = zipped_size(save_h5(plain_clustered_model, "plain_clustered.h5"))
clustered_h5_zipped_bytes = zipped_size(save_h5(clustered_model, "clustered.h5"))
plain_clustered = measure_stage(to_tflite(plain_clustered_model, "float"), "plain_clustered.tflite")
clustered = measure_stage(to_tflite(clustered_model, "float"), "clustered.tflite")
plain_clustered_tflite_sparsity = plain_clustered["sparsity"]
plain_clustered_tflite_values = plain_clustered["values"]
clustered_tflite_sparsity = clustered["sparsity"]
clustered_tflite_values = clustered["values"]
clustered_tflite_accuracy = clustered["accuracy"]

print("plain clustering:")
show_structure(plain_clustered["structure"])
print("sparsity-preserving clustering:")
show_structure(clustered["structure"])

# %% [markdown]
# Both clusterings leave at most 8 distinct values in each kernel. Only the
# sparsity-preserving one keeps the zeros of pruning: plain clustering leaves fewer than 10%
# of the weights at zero, because the zeros joined a cluster whose centroid is not zero.
#
# What does that buy in size? You compare like with like: stripped `.h5` files saved without
# optimizer state, zipped.

# %%
show_table(
    [".h5 file (stripped, zipped)", "bytes", "times smaller than baseline"],
    [
        [name, f"{zipped:,}", f"{baseline_h5_zipped_bytes / zipped:.2f}x"]
        for name, zipped in [
            ("baseline", baseline_h5_zipped_bytes),
            ("pruned", pruned_h5_zipped_bytes),
            ("pruned + plain clustering", plain_clustered_h5_zipped_bytes),
            ("pruned + sparsity-preserving clustering", clustered_h5_zipped_bytes),
        ]
    ],
)

# %% [markdown]
# Clustering makes the zipped pruned model 4x smaller again in the median seed (a seed can land a
# little either side): a kernel of 8 repeated values compresses far better than one of thousands
# of different ones.
#
# Keeping the zeros, on the other hand, hardly changes the zipped size: the two clustered files
# are within 20% of each other. Zip compresses a repeated non-zero centroid about as well as
# a repeated zero. The zeros pay off in runtimes and accelerators that skip zero weights,
# which this tutorial does not measure.
#
# The TFMOT sparsity-preserving clustering tutorial publishes "1.6x smaller models from
# clustering" for this comparison, sparsity-preserving against plain clustering. Its files
# are saved with their clustering wrappers and optimizer state, so they are not like for
# like; ours are stripped files without optimizer state, the files you would ship.
#
# ## Step 3: quantization-aware training that keeps zeros and clusters (PCQAT)
#
# Quantization-aware training fine-tunes a model while simulating 8-bit weights and
# activations, so that the integer model loses as little accuracy as possible. Plain QAT
# trains every weight freely. The collaborative scheme
# `Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=True)` instead trains only the
# cluster centroids and keeps the zero mask fixed: the pattern of pruning and clustering goes
# through quantization intact.
#
# The recipe is: annotate the stripped, clustered model, then `quantize_apply` it with the
# preserving scheme.

# %%
pcqat_model = tfmot.quantization.keras.quantize_apply(
    tfmot.quantization.keras.quantize_annotate_model(copy_model(clustered_model)),
    tfmot.experimental.combine.Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=True),
)
fine_tune(pcqat_model)

pcqat = measure_stage(to_tflite(pcqat_model, "int8", representative=x_train), "pcqat.tflite")
pcqat_tflite_sparsity = pcqat["sparsity"]
pcqat_tflite_values = pcqat["values"]
pcqat_tflite_accuracy = pcqat["accuracy"]
pcqat_tflite_zipped_bytes = pcqat["zipped"]
show_structure(pcqat["structure"])

# %% [markdown]
# The kernels are now int8. The PCQAT model keeps the sparsity of pruning, and holds no more
# than 8 distinct values per quantization scale. (Counted over the whole convolution kernel,
# there can be more, since each of its output channels has a scale of its own.)
#
# ## The contrast: plain QAT on the same model
#
# For comparison, `quantize_model`, the plain QAT recipe, on the very same pruned and
# clustered model, fine-tuned and exported the same way.

# %%
qat_after_clustering_model = tfmot.quantization.keras.quantize_model(copy_model(clustered_model))
fine_tune(qat_after_clustering_model)

qat_after_clustering = measure_stage(
    to_tflite(qat_after_clustering_model, "int8", representative=x_train),
    "qat_after_clustering.tflite",
)
qat_after_clustering_tflite_sparsity = qat_after_clustering["sparsity"]
qat_after_clustering_tflite_values = qat_after_clustering["values"]
qat_after_clustering_tflite_zipped_bytes = qat_after_clustering["zipped"]
show_structure(qat_after_clustering["structure"])

# %% [markdown]
# Plain QAT undoes both earlier steps. It loses more than a tenth of the zeros in every seed,
# and more than a fifth in the median one: the ones left are weights that drifted by less than
# half a quantization step and round back to zero. And the clusters spread into more than 16 distinct values per scale. Its zipped file
# is more than 1.2x the size of the PCQAT one.
#
# ## Compare with quantization alone
#
# Is the whole chain worth it? Two simpler paths start from the baseline directly:
#
# * post-training quantization (PTQ) to int8, calibrated on 100 training images, with no
#   training at all;
# * QAT alone, fine-tuned for as long as one PCQAT stage.
#
# You also apply PTQ to the pruned and clustered model: this is the alternative to PCQAT that
# the TFMOT examples compare with, since it keeps the structure too but cannot fine-tune for
# the integer weights.

# %%
ptq = measure_stage(to_tflite(baseline_model, "int8", representative=x_train), "ptq.tflite")
ptq_tflite_accuracy = ptq["accuracy"]
ptq_tflite_zipped_bytes = ptq["zipped"]

qat_model = tfmot.quantization.keras.quantize_model(copy_model(baseline_model))
fine_tune(qat_model)
qat = measure_stage(to_tflite(qat_model, "int8", representative=x_train), "qat.tflite")
qat_tflite_accuracy = qat["accuracy"]
qat_tflite_zipped_bytes = qat["zipped"]

clustered_ptq = measure_stage(
    to_tflite(clustered_model, "int8", representative=x_train), "clustered_ptq.tflite"
)
clustered_ptq_tflite_accuracy = clustered_ptq["accuracy"]
clustered_ptq_tflite_zipped_bytes = clustered_ptq["zipped"]

# %% [markdown]
# ## Summary
#
# Every row is an exported `.tflite` file: its zipped size, its accuracy on the 10,000 test
# images in LiteRT, the share of zero weights in its kernels and the largest number of
# distinct values per quantization scale in any kernel.

# %%
stages = [
    ("baseline (float)", baseline),
    ("pruned (float)", pruned),
    ("pruned + plain clustering (float)", plain_clustered),
    ("pruned + sparsity-preserving clustering (float)", clustered),
    ("pruned + clustered + PCQAT (int8)", pcqat),
    ("pruned + clustered + plain QAT (int8)", qat_after_clustering),
    ("pruned + clustered + PTQ (int8)", clustered_ptq),
    ("QAT alone (int8)", qat),
    ("PTQ alone (int8)", ptq),
]
show_table(
    [
        "model",
        "zipped bytes",
        "times smaller than baseline",
        "LiteRT accuracy",
        "zeros in kernels",
        "distinct values per scale (max)",
    ],
    [
        [
            name,
            f"{s['zipped']:,}",
            f"{baseline['zipped'] / s['zipped']:.2f}x",
            f"{s['accuracy']:.2%}",
            f"{s['sparsity']:.1%}",
            f"{s['values']:,}",
        ]
        for name, s in stages
    ],
)

# %% [markdown]
# The fully optimized model, pruned, clustered and PCQAT-trained, zips 8x smaller than the
# float baseline `.tflite`. It is 2x smaller than QAT alone and 2x smaller than PTQ alone,
# whose int8 weights stay all different. Its accuracy stays within 1 point of the float
# baseline.
#
# Does fine-tuning for quantization beat post-training quantization? The TFMOT collaborative
# optimization overview publishes that it does on larger models: for a pruned DS-CNN-L, for
# example, 94.13% with PQAT against 93.80% with PTQ. On this small model the pairs to compare,
# QAT alone against PTQ alone and PCQAT against PTQ of the same pruned, clustered model, are
# within 1 point of each other. That is too close to call on one run, so this tutorial makes no claim
# about which wins: try both on your model.

# %%
labels = [name.replace(" (", "\n(") for name, _ in stages]
fig, axes = plt.subplots(1, 3, figsize=(14, 5), sharey=True)
positions = np.arange(len(stages))
colors = ["#1f77b4" if "plain" not in name else "#d62728" for name, _ in stages]
axes[0].barh(positions, [s["zipped"] / 1000 for _, s in stages], color=colors)
axes[0].set_xlabel("zipped .tflite (KB)")
axes[1].barh(positions, [100 * s["sparsity"] for _, s in stages], color=colors)
axes[1].axvline(100 * target_sparsity, color="gray", linestyle="--", label="pruning target")
axes[1].set_xlabel("zero weights in kernels (%)")
axes[1].legend(loc="lower right")
axes[2].barh(positions, [s["values"] for _, s in stages], color=colors)
axes[2].axvline(
    number_of_clusters, color="gray", linestyle="--", label=f"{number_of_clusters} clusters"
)
axes[2].set_xscale("log")
axes[2].set_xlabel("distinct values per scale, largest kernel (log)")
axes[2].legend(loc="lower right")
axes[0].set_yticks(positions, labels, fontsize=8)
axes[0].invert_yaxis()
fig.suptitle("What survives into the .tflite file (red: the non-preserving steps)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What you did
#
# * You measured the baseline before any TFMOT wrapper touched it, and started each later step
#   from a copy.
# * You pruned, stripped, clustered with `preserve_sparsity=True`, stripped again, and
#   fine-tuned with the `Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=True)`
#   scheme, so that each step kept what the previous one achieved.
# * You checked the result where it matters, in the kernels of the exported int8 `.tflite`
#   file, and saw plain clustering and plain QAT throw the structure away.
#
# To go further, try `Default8BitPrunePreserveQuantizeScheme` (pruning then QAT, without
# clustering) or `Default8BitClusterPreserveQuantizeScheme()` (clustering then QAT), which the
# guide of this technique shows, or 16 clusters for a little more accuracy.
