# %% [markdown]
# # Collaborative optimization of an object detector

# %% [markdown]
# The detection results of the collaborative optimization overview. The detector is a small
# single-shot model trained here on *synthetic scenes of real objects*: 64x64 canvases holding
# one to three real Fashion-MNIST items at random sizes and places, whose boxes are therefore
# known exactly. It is scored by mAP@0.5 on test scenes made of Fashion-MNIST's test items.
#
# The pipeline chains three techniques on a copy of the trained detector: pruning to
# `target_sparsity` while fine-tuning, clustering that keeps the zeros (`preserve_sparsity=True`)
# while fine-tuning again, and full integer post-training quantization. Each stage is exported
# to TensorFlow Lite and measured in LiteRT: mAP, raw and zipped size, latency on one thread and
# runtime memory. The pretrained MTCNN face detector of the other overviews is not used here:
# the whole-model pruning and clustering APIs refuse its `PReLU` layers.

# %%
# tutorial-gen: setup

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import math
import tempfile

import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

print("TensorFlow", tf.__version__, "| tf_keras", keras.__version__, "| TFMOT", tfmot.__version__)

# %% tags=["parameters"]
seed = 42
train_scenes = 10000
test_scenes = 2000
epochs = 5  # of training the baseline
fine_tune_epochs = 1  # at each stage
batch_size = 64
target_sparsity = 0.5
number_of_clusters = 16
latency_runs = 200
measure_memory = True

# %% [markdown]
# The helpers: measuring (`measure`), conversion (`convert`), the results table (`results`),
# Fashion-MNIST (`models`), the detection task (`detection`: the scenes, the grid detector, mAP)
# and `weights` (`unique_values`).

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include convert

# %%
# tutorial-gen: include results

# %%
# tutorial-gen: include models

# %%
# tutorial-gen: include detection

# %%
# tutorial-gen: include weights

# %% [markdown]
# ## The baseline: a detector trained on synthetic scenes of real objects
#
# Each scene has one to three Fashion-MNIST items, 18 to 32 pixels wide, that do not overlap.
# The detector reads the 64x64 scene as an 8x8 grid; each cell predicts whether an item's
# centre is in it, the item's box and its class. It has only convolutions, so every TFMOT API
# takes the whole model.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="collaborative_detection_results_")
(train_images, train_truth), (test_images, test_truth) = scene_splits(
    train_scenes, test_scenes, seed
)
detector = train_detector(grid_detector(), train_images, train_truth, epochs, batch_size)
scene_score = scene_map(test_truth)

MODEL_NAME = "Grid detector (composed scenes)"
measure = detector_measurer(
    scene_score, test_images, workdir, "scenes", latency_runs=latency_runs, memory=measure_memory
)
baseline = measure(to_tflite(detector, "float"), "baseline")
results_rows = [results_row(MODEL_NAME, "baseline", None, baseline, baseline)]
print(f"{detector.count_params():,} parameters; LiteRT mAP@0.5 {baseline['accuracy']:.3f}")

# %% [markdown]
# ## Prune, cluster keeping the zeros, quantize

# %%
steps = math.ceil(train_scenes / batch_size) * fine_tune_epochs
end_step = max(1, int(steps * 0.75))
schedule = tfmot.sparsity.keras.PolynomialDecay(
    0.0, target_sparsity, begin_step=0, end_step=end_step, frequency=max(1, end_step // 10)
)
keras.utils.set_random_seed(seed)
pruning = tfmot.sparsity.keras.prune_low_magnitude(copy_model(detector), pruning_schedule=schedule)
train_detector(
    pruning,
    train_images,
    train_truth,
    fine_tune_epochs,
    batch_size,
    learning_rate=5e-4,
    callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
)
pruned = tfmot.sparsity.keras.strip_pruning(pruning)
pruned_sparsity = sparsity(kernels_of(pruned))

Clustering = tfmot.clustering.keras
clustering = Clustering.cluster_weights(
    copy_model(pruned),
    number_of_clusters=number_of_clusters,
    cluster_centroids_init=Clustering.CentroidInitialization.KMEANS_PLUS_PLUS,
    preserve_sparsity=True,
)
train_detector(
    clustering, train_images, train_truth, fine_tune_epochs, batch_size, learning_rate=2e-4
)
clustered = Clustering.strip_clustering(clustering)
clustered_sparsity = sparsity(kernels_of(clustered))
clustered_values = max(unique_values(kernel) for kernel in kernels_of(clustered))
print(f"sparsity after pruning {pruned_sparsity:.2%}, after clustering {clustered_sparsity:.2%}")
print(f"at most {clustered_values} distinct values in a clustered kernel (zero included)")

sparsity_label = f"{target_sparsity:.0%} sparsity"
cluster_label = f"{number_of_clusters} clusters"
stages = [
    (sparsity_label, "pruned", to_tflite(pruned, "float")),
    (f"{sparsity_label} + {cluster_label}", "pruned_clustered", to_tflite(clustered, "float")),
    (
        f"{sparsity_label} + {cluster_label} + full integer PTQ (int8)",
        "pruned_clustered_int8",
        to_tflite(clustered, "int8", representative=train_images),
    ),
]
for config, name, tflite_model in stages:
    print(f"--- {config}")
    results_rows.append(
        results_row(
            MODEL_NAME, config, config.split(" + ")[-1], measure(tflite_model, name), baseline
        )
    )

# %% [markdown]
# ## Results

# %%
results_table(
    results_rows,
    {
        "configuration": "{config}",
        "mAP@0.5": "{accuracy:.2%}",
        "change (points)": "{change_points:+.2f}",
        ".tflite": "{tflite_kib:,.1f} KiB",
        "zipped": "{size_kib:,.1f} KiB",
        "zipped: times smaller": "{zipped_ratio:.2f}x",
        "latency ms (median)": "{latency_ms:.3f}",
        "memory KB": "{memory_kib:,.0f}",
    },
)
sparsity_kept = clustered_sparsity / pruned_sparsity
final_zipped_ratio = zipped_ratio(results_rows[-1])
final_map_drop = accuracy_drop(results_rows[-1])

# %% [markdown]
# Clustering with `preserve_sparsity=True` keeps the zeros of the pruned detector: the clustered
# kernels are as sparse as the pruned ones. The three stages together make the zipped file more
# than 6x smaller than the baseline's, and the detector loses less than 5 points of mAP@0.5 over
# the three. Most of the saving comes from clustering: 16 values per kernel zip far better than
# the pruned kernel's remaining floats, and the epoch of fine-tuning that comes with it also wins
# back part of what pruning cost, as the table shows stage by stage.
