# %% [markdown]
# # Collaborative optimization of a pretrained text encoder

# %% [markdown]
# The text results of the collaborative optimization overview. A pretrained BERT-style encoder,
# all-MiniLM-L6-v2 (6 layers, 22.6 million parameters), gets a two-class head and is fine-tuned
# to tell fresh Rotten Tomatoes review snippets from rotten ones. That fine-tuned classifier is
# the baseline.
#
# The pipeline then chains three techniques on the encoder's `Dense` layers (the attention
# projections and the feed-forward blocks: 10.6 million weights): pruning to `target_sparsity`
# while fine-tuning, clustering that keeps the zeros (`preserve_sparsity=True`) while
# fine-tuning again, and dynamic range post-training quantization, which also shrinks the
# embedding tables. Each stage is exported to TensorFlow Lite and measured in LiteRT: accuracy on
# 1,000 held-out reviews, raw and zipped size, latency on one thread and runtime memory.

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
sequence_length = 48
encoder_layers = 6  # of the pretrained encoder's 6: fewer make a quicker, smaller model
train_samples = 1000  # reviews the head is trained on, and the encoder fine-tuned on
test_samples = 1000
batch_size = 32
epochs = 1  # of fine-tuning: of the baseline, and at each stage
target_sparsity = 0.5
number_of_clusters = 16
latency_runs = 100
measure_memory = True

# %% [markdown]
# The helpers: measuring (`measure`), conversion (`convert`), the results table (`results`), the
# text task (`text`: the reviews, the encoder with its published weights, the classifier, and
# `wrap_layers` to wrap chosen layers of it) and `weights` (`unique_values`).

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include convert

# %%
# tutorial-gen: include results

# %%
# tutorial-gen: include text

# %%
# tutorial-gen: include weights

# %% [markdown]
# ## The baseline
#
# The head is trained on the encoder's sentence embeddings first, then the whole classifier is
# fine-tuned for `epochs`.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="collaborative_text_results_")
encoder, tokenizer = pretrained_minilm(sequence_length, encoder_layers)
(x_train, y_train), (x_test, y_test) = review_splits(tokenizer, train_samples, test_samples, seed)
classifier = compile_text(review_classifier(encoder, x_train, y_train))
classifier.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=2)
dense_names = encoder_dense_layers(classifier)

MODEL_NAME = "MiniLM-L6 classifier"


def measure(tflite_model, name):
    return measure_tflite(
        tflite_model,
        x_test,
        y_test,
        workdir,
        f"minilm_{name}.tflite",
        latency_runs=latency_runs,
        memory=measure_memory,
    )


baseline = measure(to_tflite(classifier, "float"), "baseline")
results_rows = [results_row(MODEL_NAME, "baseline", None, baseline, baseline)]


def dense_kernels(model):
    return [model.get_layer(name).kernel.numpy() for name in dense_names]


# %% [markdown]
# ## Prune, cluster keeping the zeros, quantize
#
# Each stage copies the model the stage before it left (`wrap_layers`), wraps the copy's `Dense`
# layers, fine-tunes, and strips the wrappers.

# %%
steps = math.ceil(train_samples / batch_size) * epochs
end_step = max(1, int(steps * 0.75))
schedule = tfmot.sparsity.keras.PolynomialDecay(
    initial_sparsity=0.0,
    final_sparsity=target_sparsity,
    begin_step=0,
    end_step=end_step,
    frequency=max(1, end_step // 8),
)
Clustering = tfmot.clustering.keras
keras.utils.set_random_seed(seed)
pruning = wrap_layers(
    classifier,
    dense_names,
    lambda layer: tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule),
)
compile_text(pruning).fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=epochs,
    verbose=2,
    callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
)
pruned = tfmot.sparsity.keras.strip_pruning(pruning)
pruned_sparsity = sparsity(dense_kernels(pruned))
pruned_tflite = to_tflite(pruned, "float")

clustering = wrap_layers(
    pruned,
    dense_names,
    lambda layer: Clustering.cluster_weights(
        layer,
        number_of_clusters=number_of_clusters,
        cluster_centroids_init=Clustering.CentroidInitialization.KMEANS_PLUS_PLUS,
        preserve_sparsity=True,
    ),
)
compile_text(clustering, learning_rate=1e-5).fit(
    x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=2
)
clustered = Clustering.strip_clustering(clustering)
clustered_sparsity = sparsity(dense_kernels(clustered))
clustered_values = max(unique_values(kernel) for kernel in dense_kernels(clustered))
clustered_tflite = to_tflite(clustered, "float")
quantized_tflite = to_tflite(clustered, "dynamic")

print(f"sparsity after pruning {pruned_sparsity:.2%}, after clustering {clustered_sparsity:.2%}")
print(f"at most {clustered_values} distinct values in a clustered kernel (zero included)")

sparsity_label = f"{target_sparsity:.0%} sparsity"
cluster_label = f"{number_of_clusters} clusters"
stages = [
    (f"{sparsity_label}", "pruned", pruned_tflite),
    (f"{sparsity_label} + {cluster_label}", "pruned_clustered", clustered_tflite),
    (
        f"{sparsity_label} + {cluster_label} + dynamic range PTQ (int8 weights)",
        "pruned_clustered_dynamic",
        quantized_tflite,
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
results_table(results_rows)
sparsity_kept = clustered_sparsity / pruned_sparsity
final_zipped_ratio = zipped_ratio(results_rows[-1])
final_accuracy_drop = accuracy_drop(results_rows[-1])

# %% [markdown]
# Clustering with `preserve_sparsity=True` keeps the zeros of the pruned encoder: the clustered
# kernels are as sparse as the pruned ones. The three stages together make the zipped file more
# than 4x smaller than the baseline's; most of that comes from dynamic range quantization, which
# also stores the embedding tables (half the model, untouched by pruning and clustering) in 8
# bits. The table shows what each stage cost in accuracy against the fine-tuned baseline, after
# a single epoch of fine-tuning per stage on 1,000 reviews.
