# %% [markdown]
# # Pruning a pretrained text encoder

# %% [markdown]
# The text results of the pruning overview. A pretrained BERT-style encoder, all-MiniLM-L6-v2
# (6 layers, 22.6 million parameters), gets a two-class head and is fine-tuned to tell fresh
# Rotten Tomatoes review snippets from rotten ones. That fine-tuned classifier is the baseline.
#
# Pruning then zeroes the smallest weights of the encoder's `Dense` layers (the attention
# projections and the feed-forward blocks: 10.6 million weights) while a fresh copy of the
# baseline is fine-tuned for as long again, at each final sparsity of the sweep. The embedding
# tables (the other half of the model) are lookups, not pruned here. One more configuration
# combines a pruned model with dynamic range post-training quantization. Every configuration is
# exported to TensorFlow Lite and measured in LiteRT: accuracy on 1,000 held-out reviews, raw and
# zipped size, latency on one thread and runtime memory.

# %%
# tutorial-gen: setup

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import math
import tempfile

import matplotlib.pyplot as plt
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

print("TensorFlow", tf.__version__, "| tf_keras", keras.__version__, "| TFMOT", tfmot.__version__)

# %% [markdown]
# The parameters of the run. `sparsities` is the sweep; `ptq_sparsity` is the sparsity combined
# with dynamic range quantization when `with_ptq` is set.

# %% tags=["parameters"]
seed = 42
sequence_length = 48
encoder_layers = 6  # of the pretrained encoder's 6: fewer make a quicker, smaller model
train_samples = 1000  # reviews the head is trained on, and the encoder fine-tuned on
test_samples = 1000
batch_size = 32
epochs = 1  # of fine-tuning: of the baseline, and of each pruned copy
sparsities = [0.5, 0.8]
ptq_sparsity = 0.5
with_ptq = True
latency_runs = 100
measure_memory = True

# %% [markdown]
# The helpers: measuring (`measure`), conversion (`convert`), the results table and chart
# (`results`) and the text task (`text`: the reviews, the encoder with its published weights,
# the classifier, and `wrap_layers` to wrap chosen layers of it).

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include convert

# %%
# tutorial-gen: include results

# %%
# tutorial-gen: include text

# %% [markdown]
# ## The baseline
#
# The head is trained on the encoder's sentence embeddings first, then the whole classifier is
# fine-tuned for `epochs`.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="pruning_text_results_")
encoder, tokenizer = pretrained_minilm(sequence_length, encoder_layers)
(x_train, y_train), (x_test, y_test) = review_splits(tokenizer, train_samples, test_samples, seed)
classifier = compile_text(review_classifier(encoder, x_train, y_train))
classifier.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=2)
dense_names = encoder_dense_layers(classifier)
dense_weights = sum(classifier.get_layer(name).kernel.shape.num_elements() for name in dense_names)
print(f"{len(dense_names)} Dense layers of the encoder, {dense_weights:,} weights to prune")

MODEL_NAME = "MiniLM-L6 classifier"
baseline = measure_tflite(
    to_tflite(classifier, "float"),
    x_test,
    y_test,
    workdir,
    "minilm_baseline.tflite",
    latency_runs=latency_runs,
    memory=measure_memory,
)
results_rows = [results_row(MODEL_NAME, "baseline", None, baseline, baseline)]

# %% [markdown]
# ## The sweep
#
# `wrap_layers` copies the baseline, with its weights, and wraps each `Dense` layer of the encoder
# in the copy with `prune_low_magnitude`; the baseline itself stays as it is for the next run. The
# schedule raises the sparsity from zero to its final value over the first three quarters of the
# fine-tuning, the last quarter fine-tunes at the final sparsity.

# %%
steps = math.ceil(train_samples / batch_size) * epochs
end_step = max(1, int(steps * 0.75))
frequency = max(1, end_step // 8)


def prune_and_finetune(final_sparsity):
    """The baseline's Dense layers pruned to `final_sparsity` while fine-tuned, stripped, as
    `.tflite` files (float, and dynamic range if asked), and the measured kernel sparsity."""
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0,
        final_sparsity=final_sparsity,
        begin_step=0,
        end_step=end_step,
        frequency=frequency,
    )
    keras.utils.set_random_seed(seed)
    pruned = wrap_layers(
        classifier,
        dense_names,
        lambda layer: tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule),
    )
    compile_text(pruned).fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        verbose=2,
        callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
    )
    stripped = tfmot.sparsity.keras.strip_pruning(pruned)
    kernels = [stripped.get_layer(name).kernel.numpy() for name in dense_names]
    files = {"float": to_tflite(stripped, "float")}
    if with_ptq and final_sparsity == ptq_sparsity:
        files["dynamic"] = to_tflite(stripped, "dynamic")
    return files, sparsity(kernels)


sparsity_shortfalls = []
for target in sorted(set(sparsities) | ({ptq_sparsity} if with_ptq else set())):
    print(f"--- {target:.0%} sparsity")
    files, reached = prune_and_finetune(target)
    sparsity_shortfalls.append(target - reached)
    print(f"{reached:.2%} zeros in the pruned kernels")
    if target in sparsities:
        measured = measure_tflite(
            files["float"],
            x_test,
            y_test,
            workdir,
            f"minilm_{target:.2f}.tflite",
            latency_runs=latency_runs,
            memory=measure_memory,
        )
        results_rows.append(
            results_row(MODEL_NAME, f"{target:.0%} sparsity", target, measured, baseline)
        )
    if "dynamic" in files:
        measured = measure_tflite(
            files["dynamic"],
            x_test,
            y_test,
            workdir,
            f"minilm_{target:.2f}_dynamic.tflite",
            latency_runs=latency_runs,
            memory=measure_memory,
        )
        results_rows.append(
            results_row(
                MODEL_NAME,
                f"{target:.0%} sparsity + dynamic range PTQ (int8 weights)",
                target,
                measured,
                baseline,
            )
        )

max_sparsity_shortfall = max(sparsity_shortfalls)
assert max_sparsity_shortfall <= 0.005, max_sparsity_shortfall

# %% [markdown]
# ## Results
#
# Accuracy is LiteRT top-1 on the held-out reviews; "zipped" is the size of a zip archive of the
# `.tflite` file, where the zeros of a pruned model pay off.

# %%
results_table(results_rows)
plot_accuracy_vs_size(
    results_rows,
    "Pruning the MiniLM-L6 review classifier: accuracy against zipped size",
    label="{:.0%}",
    baseline_on_curve=True,
)
plt.show()

# %%
sweep = sweep_rows(results_rows)  # neither the baseline nor the row with PTQ (int8 weights)
max_accuracy_drop = max(accuracy_drop(row) for row in sweep)
max_zipped_ratio = max(zipped_ratio(row) for row in sweep)
ptq_rows = [row for row in results_rows if "PTQ" in row["config"]]
ptq_zipped_ratio = zipped_ratio(ptq_rows[0]) if ptq_rows else None
if ptq_zipped_ratio is None:
    ptq_zipped_ratio_unmeasured_reason = "this run leaves the combination with PTQ out"

# %% [markdown]
# Every pruned encoder reached its target sparsity. The zeros shrink the zipped file only so far:
# half of this model is its embedding tables, which are not pruned, so even the sparsest
# configuration's zipped file is less than 2x smaller than the baseline's. Combined with dynamic
# range quantization, which shrinks the embeddings too, the zipped file is more than 4x smaller.
#
# Accuracy is the price, and on this encoder it is high: the table shows what each sparsity cost
# against the fine-tuned baseline after a single epoch of fine-tuning on 1,000 reviews (the
# overview's image table gives the same sparsities on the image models). How much a longer
# fine-tuning on more reviews would win back is not measured here: measure each sparsity on your
# own task before you choose one.
