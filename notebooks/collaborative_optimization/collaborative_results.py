# %% [markdown]
# # Collaborative optimization results on three architectures

# %% [markdown]
# This notebook measures the collaborative optimization pipelines of the TensorFlow Model
# Optimization Toolkit (TFMOT) on the three small Fashion-MNIST models of this series: the
# tutorial CNN, a dense-only MLP and a mobile-style separable CNN. For each model it trains a
# float baseline, then exports an int8 TensorFlow Lite model along five paths:
#
# | path | what it does |
# |---|---|
# | PTQ | post-training int8 quantization of the baseline, no training |
# | QAT | quantization-aware training of the baseline (`quantize_model`) |
# | PQAT | prune to `target_sparsity` (parameters cell), then QAT that keeps the zeros |
# | CQAT | cluster to 16 values per kernel, then QAT that keeps the clusters |
# | PCQAT | prune the same way, cluster with `preserve_sparsity=True`, then QAT that keeps both |
#
# Every model is measured the same way: zipped `.tflite` size, LiteRT accuracy on the 10,000
# test images, latency and runtime memory. The rows feed the results table of the overview
# page. You also read the kernels back out of each `.tflite` file to check that the structure
# each path promises is really there.

# %%
# tutorial-gen: setup

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
# `pipelines` lists the paths to run for every model; the float baseline always runs.

# %% tags=["parameters"]
seed = 42
train_samples = 30000
batch_size = 128
baseline_epochs = 3
baseline_learning_rate = 3e-3
fine_tune_epochs = 1  # epochs of each fine-tuning stage: pruning, clustering, QAT
fine_tune_learning_rate = 1e-4
target_sparsity = 0.5
number_of_clusters = 16
pipelines = ["PTQ", "QAT", "PQAT", "CQAT", "PCQAT"]
latency_runs = 200
measure_memory = True

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include models

# %%
# tutorial-gen: include convert

# %%
# tutorial-gen: include weights

# %%
# tutorial-gen: include results

# %% [markdown]
# `kernel_structure` reads the kernels of a `.tflite` model: the share of exact zeros, and the
# largest number of distinct values per quantization scale (an int8 convolution has one scale
# per output channel, a dense layer one for the whole kernel).


# %%
def kernel_structure(tflite_model):
    details = {d["name"]: d for d in Interpreter(model_content=tflite_model).get_tensor_details()}
    kernels = tflite_kernels(tflite_model)
    most_values = 0
    for name, kernel in kernels.items():
        quantization = details[name]["quantization_parameters"]
        if len(quantization["scales"]) > 1:
            slices = np.moveaxis(kernel, quantization["quantized_dimension"], 0)
        else:
            slices = [kernel]
        most_values = max(most_values, *(unique_values(s) for s in slices))
    return sparsity(list(kernels.values())), most_values


def copy_model(model):
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


def prune(model):
    # Masks update every `frequency` steps; a short run must still reach at least one update.
    steps = int(np.ceil(len(x_train) / batch_size)) * fine_tune_epochs
    frequency = max(1, min(10, steps // 2))
    schedule = tfmot.sparsity.keras.ConstantSparsity(
        target_sparsity, begin_step=0, frequency=frequency
    )
    pruned = tfmot.sparsity.keras.prune_low_magnitude(copy_model(model), pruning_schedule=schedule)
    fine_tune(pruned, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    return tfmot.sparsity.keras.strip_pruning(pruned)


def cluster(model, preserve_sparsity):
    clustered = tfmot.clustering.keras.cluster_weights(
        copy_model(model),
        number_of_clusters=number_of_clusters,
        cluster_centroids_init=tfmot.clustering.keras.CentroidInitialization.KMEANS_PLUS_PLUS,
        preserve_sparsity=preserve_sparsity,
    )
    fine_tune(clustered)
    return tfmot.clustering.keras.strip_clustering(clustered)


def quantize_aware(model, scheme=None):
    annotated = tfmot.quantization.keras.quantize_annotate_model(copy_model(model))
    quantized = (
        tfmot.quantization.keras.quantize_apply(annotated, scheme)
        if scheme
        else tfmot.quantization.keras.quantize_apply(annotated)
    )
    return fine_tune(quantized)


sparsity_label = f"{target_sparsity:.0%} sparsity"
cluster_label = f"{number_of_clusters} clusters"
PIPELINE_CONFIGS = {
    "PTQ": ("PTQ int8", "PTQ"),
    "QAT": ("QAT int8", "QAT"),
    "PQAT": (f"{sparsity_label} + PQAT int8", f"prune {target_sparsity:.0%} > PQAT"),
    "CQAT": (f"{cluster_label} + CQAT int8", f"cluster {number_of_clusters} > CQAT"),
    "PCQAT": (
        f"{sparsity_label} + {cluster_label} + PCQAT int8",
        f"prune {target_sparsity:.0%} > cluster {number_of_clusters} > PCQAT",
    ),
}


def pipeline_model(pipeline, base, pruned):
    """The Keras model to export to int8 for one path, built from copies of `base` or `pruned`."""
    combine = tfmot.experimental.combine
    if pipeline == "PTQ":
        return base
    if pipeline == "QAT":
        return quantize_aware(base)
    if pipeline == "PQAT":
        return quantize_aware(pruned, combine.Default8BitPrunePreserveQuantizeScheme())
    if pipeline == "CQAT":
        return quantize_aware(
            cluster(base, preserve_sparsity=False),
            combine.Default8BitClusterPreserveQuantizeScheme(),
        )
    if pipeline == "PCQAT":
        return quantize_aware(
            cluster(pruned, preserve_sparsity=True),
            combine.Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=True),
        )
    raise ValueError(f"unknown pipeline {pipeline!r}")


def measure(tflite_model, model_name, name):
    slug = model_name.lower().replace(" ", "_")
    return measure_tflite(
        tflite_model,
        x_test,
        y_test,
        workdir,
        f"{slug}_{name}.tflite",
        latency_runs=latency_runs,
        memory=measure_memory,
    )


# %% [markdown]
# ## Run every path on every model
#
# For each architecture: train the baseline, measure its float `.tflite`, then build each
# path from copies of it. The pruned model is built once and shared by PQAT and PCQAT.
# Training uses the first `train_samples` images.

# %%
workdir = tempfile.mkdtemp(prefix="collaborative_results_")
(x_train, y_train), (x_test, y_test) = load_fashion_mnist(train_samples)

results_rows = []
structure_rows = []
pruned_sparsity_by_model = {}
for model_name, build in ARCHITECTURES.items():
    print(f"=== {model_name}")
    keras.utils.set_random_seed(seed)
    base = compile_for_training(build(), learning_rate=baseline_learning_rate)
    base.fit(x_train, y_train, batch_size=batch_size, epochs=baseline_epochs, verbose=2)

    float_tflite = to_tflite(base, "float")
    baseline = measure(float_tflite, model_name, "float")
    results_rows.append(results_row(model_name, "baseline", None, baseline, baseline))
    structure_rows.append((model_name, "baseline", *kernel_structure(float_tflite)))

    pruned = prune(base) if {"PQAT", "PCQAT"} & set(pipelines) else None
    if pruned is not None:
        pruned_sparsity_by_model[model_name] = kernel_structure(to_tflite(pruned, "float"))[0]
    for pipeline in pipelines:
        config, hyperparameter = PIPELINE_CONFIGS[pipeline]
        int8_tflite = to_tflite(
            pipeline_model(pipeline, base, pruned), "int8", representative=x_train
        )
        measured = measure(int8_tflite, model_name, pipeline.lower())
        results_rows.append(results_row(model_name, config, hyperparameter, measured, baseline))
        structure_rows.append((model_name, config, *kernel_structure(int8_tflite)))

# %% [markdown]
# ## Results

# %%
results_table(
    results_rows,
    {
        "model": "{model}",
        "configuration": "{config}",
        "LiteRT accuracy": "{accuracy:.2%}",
        "zipped .tflite": "{size:,}",
        "times smaller than float": "{zipped_ratio:.2f}x",
        ".tflite bytes": "{tflite_bytes:,}",
        "latency ms (p10 to p90)": "{latency_ms:.4f} ({latency_p10_ms:.4f} to {latency_p90_ms:.4f})",
        "memory bytes": "{memory_bytes:,}",
    },
)

# %% [markdown]
# Read each QAT-based row against PTQ, which needs no training at all: a training-based path
# earns its cost only where it beats PTQ on accuracy or size for your model. Here every path
# fine-tunes for one epoch per step, which is little for the separable CNN.
#
# Latency on this shared machine is noisy, and the table makes no claim about it. On CPU the
# int8 models run the same dense integer kernels whatever their zeros and clusters, so expect
# the quantized rows to be alike.
#
# ## What survived into the `.tflite` files
#
# The share of zero weights in the kernels and the largest number of distinct values per
# quantization scale. The separable CNN's depthwise kernels are neither pruned nor clustered
# by TFMOT 0.8.1, so its share of zeros stays below the target and its depthwise channels keep
# their own values (at most 9 each, the size of a 3x3 filter).

# %%
show_table(
    ["model", "configuration", "zeros in kernels", "distinct values per scale (max)"],
    [
        [model_name, config, f"{zeros:.1%}", values]
        for model_name, config, zeros, values in structure_rows
    ],
)

pcqat_structure = [(m, z, v) for m, c, z, v in structure_rows if c.endswith("PCQAT int8")]
if pcqat_structure:
    pcqat_sparsity_kept = min(z / pruned_sparsity_by_model[m] for m, z, _ in pcqat_structure)
    pcqat_most_values = max(v for _, _, v in pcqat_structure)
else:
    pcqat_sparsity_kept = pcqat_most_values = None
    pcqat_sparsity_kept_unmeasured_reason = pcqat_most_values_unmeasured_reason = (
        "PCQAT was not run"
    )
print(
    "PCQAT keeps",
    pcqat_sparsity_kept,
    "of the pruned sparsity; at most",
    pcqat_most_values,
    "values per scale",
)

# %% [markdown]
# On all three models, the PCQAT `.tflite` keeps the sparsity of its pruned model, and no
# kernel holds more than 16 distinct values per quantization scale.

# %%
fig, ax = plt.subplots(figsize=(8, 5))
markers = {"Tutorial CNN": "o", "MLP": "s", "Separable CNN": "^"}
short_names = ["baseline"] + [p for p in PIPELINE_CONFIGS if p in pipelines]
colors = {name: plt.get_cmap("tab10")(index) for index, name in enumerate(short_names)}
for row in results_rows:
    short = row["hyperparameter"].split(" > ")[-1] if row["hyperparameter"] else "baseline"
    ax.scatter(
        row["size"] / 1000,
        100 * row["accuracy"],
        marker=markers.get(row["model"], "o"),
        color=colors[short],
        s=50,
    )
for short, color in colors.items():
    ax.scatter(
        [], [], color=color, label="float baseline" if short == "baseline" else f"{short} int8"
    )
ax.set_xscale("log")
ax.set_xlabel("zipped .tflite (KB, log scale)")
ax.set_ylabel("LiteRT test accuracy (%)")
ax.set_title(
    "Accuracy against size\n(circles: tutorial CNN, squares: MLP, triangles: separable CNN)"
)
ax.grid(True, which="both", alpha=0.3)
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()
