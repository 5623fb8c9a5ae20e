# %% [markdown]
# # Post-training quantization of a pretrained text encoder

# %% [markdown]
# The text results of the post-training quantization overview. A pretrained BERT-style encoder,
# all-MiniLM-L6-v2 (6 layers, 22.6 million parameters), gets a two-class head trained to tell
# fresh Rotten Tomatoes review snippets from rotten ones. The classifier is converted to a float
# `.tflite` file and then with each post-training quantization mode: dynamic range, float16 and
# full integer (int8). Every file is measured in LiteRT the same way as the image models:
# accuracy on 1,000 held-out reviews, raw and zipped size, latency on one thread and runtime
# memory.

# %%
# tutorial-gen: setup

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import tempfile

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
import tf_keras as keras

print("TensorFlow", tf.__version__, "| tf_keras", keras.__version__)

# %% [markdown]
# `sequence_length` is the number of tokens each review is cut or padded to: 48 holds all but the
# longest snippets whole. The head is trained on `train_samples` reviews; `test_samples` are held out.

# %% tags=["parameters"]
seed = 42
sequence_length = 48
encoder_layers = 6  # of the pretrained encoder's 6: fewer make a quicker, smaller model
train_samples = 2000
test_samples = 1000
modes = ["dynamic", "float16", "int8"]  # post-training quantization modes of `to_tflite`
representative_samples = 100  # training reviews that calibrate the int8 model
latency_runs = 100
latency_budget_s = 60  # at most, for timing the modes against each other
measure_memory = True

# %% [markdown]
# The shared helpers: measuring (`measure`), conversion (`convert`: `to_tflite`,
# `measure_tflite`, `results_row`), the results table (`results`), and the text task (`text`: the
# reviews, the encoder with its published weights, the classifier).

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include convert

# %%
# tutorial-gen: include results

# %%
# tutorial-gen: include text

# %% [markdown]
# ## The classifier
#
# The encoder's weights and tokenizer come from the Hugging Face Hub. Only the head is trained,
# on the sentence embeddings of the training reviews, so the encoder stays as it was published.

# %%
keras.utils.set_random_seed(seed)
encoder, tokenizer = pretrained_minilm(sequence_length, encoder_layers)
(x_train, y_train), (x_test, y_test) = review_splits(tokenizer, train_samples, test_samples, seed)
classifier = review_classifier(encoder, x_train, y_train)
keras_test_accuracy = float(
    np.mean(np.argmax(classifier.predict(x_test, batch_size=64, verbose=0), axis=1) == y_test)
)
print(f"{classifier.count_params():,} parameters; Keras test accuracy {keras_test_accuracy:.2%}")

# %% [markdown]
# ## Convert and measure
#
# The float `.tflite` is the baseline; each mode is converted from the same Keras model. The int8
# model is calibrated on training reviews; its token ids and mask stay int32 inputs, and its
# output is int8.

# %%
MODEL_NAME = "MiniLM-L6 classifier"
MODE_LABELS = {
    "dynamic": "dynamic range (int8 weights)",
    "float16": "float16 weights",
    "int8": "full integer (int8)",
}
workdir = tempfile.mkdtemp(prefix="ptq_text_results_")
tflite_models = {"float": to_tflite(classifier, "float")}
baseline = measure_tflite(
    tflite_models["float"],
    x_test,
    y_test,
    workdir,
    "minilm_float.tflite",
    latency_runs=latency_runs,
    memory=measure_memory,
)
results_rows = [results_row(MODEL_NAME, "float baseline", None, baseline, baseline)]
for mode in modes:
    print(f"--- {mode}")
    tflite_models[mode] = to_tflite(
        classifier, mode, representative=x_train, representative_samples=representative_samples
    )
    measured = measure_tflite(
        tflite_models[mode],
        x_test,
        y_test,
        workdir,
        f"minilm_{mode}.tflite",
        latency_runs=latency_runs,
        memory=measure_memory,
    )
    results_rows.append(results_row(MODEL_NAME, MODE_LABELS[mode], mode, measured, baseline))

# %% [markdown]
# ## Results

# %%
results_table(
    results_rows,
    {
        "configuration": "{config}",
        "accuracy": "{accuracy:.2%}",
        "vs float": "{change_points:+.2f} points",
        ".tflite": "{tflite_kib:,.0f} KiB",
        "times smaller": "{raw_ratio:.2f}x",
        "zipped": "{size_kib:,.0f} KiB",
        "median latency ms": "{latency_ms:.2f}",
        "memory KB": "{memory_kib:,.0f}",
    },
)

fig, ax = plt.subplots(figsize=(7, 3.8))
labels = [
    "float" if row["hyperparameter"] is None else row["hyperparameter"] for row in results_rows
]
bars = ax.bar(labels, [row["tflite_bytes"] / 2**20 for row in results_rows], color="#1f77b4")
ax.bar_label(bars, labels=[f"{row['accuracy']:.1%}" for row in results_rows], fontsize=8)
ax.set_ylabel(".tflite size (MiB)")
ax.set_title("MiniLM-L6 review classifier: size per mode (bar labels: LiteRT accuracy)")
fig.tight_layout()
plt.show()


# %%
def mode_metric(mode, metric):
    """`metric` (`raw_ratio` or `accuracy_drop`) of the row of `mode`; None if this run's `modes`
    leaves the mode out."""
    if mode not in modes:
        return None
    row = find_row(results_rows, MODEL_NAME, hyperparameter=mode)
    return raw_ratio(results_rows, row) if metric == "raw_ratio" else accuracy_drop(row)


float_tflite_accuracy = baseline["accuracy"]
dynamic_size_ratio = mode_metric("dynamic", "raw_ratio")
float16_size_ratio = mode_metric("float16", "raw_ratio")
int8_size_ratio = mode_metric("int8", "raw_ratio")
dynamic_accuracy_drop = mode_metric("dynamic", "accuracy_drop")
float16_accuracy_drop = mode_metric("float16", "accuracy_drop")
int8_accuracy_drop = mode_metric("int8", "accuracy_drop")
for name in ("size_ratio", "accuracy_drop"):
    for mode in set(MODE_LABELS) - set(modes):
        globals()[f"{mode}_{name}_unmeasured_reason"] = "this run's `modes` leaves the mode out"

# %% [markdown]
# ## Latency, the modes against each other
#
# The table above times each file on its own. The next cell times them against each other on one
# thread with one review: in rounds that take turns between the models, each round keeping every
# model's median of 50 `invoke()` calls, until each comparison is clear or `latency_budget_s`
# seconds have passed. The last column is each model's latency relative to the float model, with
# a bootstrap confidence interval over the rounds (below 1 is faster).

# %%
latency = compare_latency(tflite_models, sample=examples(x_test, 0), budget_s=latency_budget_s)
show_latency(latency, baseline="float", labels={"float": "float", **MODE_LABELS})
float_latency_ms = latency["float"]["median_ms"]
float_latency_ms_samples = latency["float"]["rounds_ms"]
dynamic_latency_ms = latency["dynamic"]["median_ms"] if "dynamic" in latency else None
dynamic_latency_ms_samples = latency["dynamic"]["rounds_ms"] if "dynamic" in latency else None
if dynamic_latency_ms is None:
    dynamic_latency_ms_unmeasured_reason = "this run's `modes` leaves the mode out"

# %% [markdown]
# Dynamic range quantization stores the weight matrices and the embedding tables as int8, and this
# encoder is almost all weights: its file is 3.9x smaller than the float one, close to the
# published "4x reduction in the model size" of the TFLite documentation, and its accuracy stays
# within 1 point of the float model. Float16 makes the file 1.9x smaller, and its accuracy stays
# within 1 point as well.
#
# Here, unlike with the small image models of the overview, dynamic range quantization also
# makes the model faster: it ran more than twice as fast as the float model, in line with the
# published "2-3x speedup" on CPU of the TFLite documentation. Its matrix products run in 8 bits,
# and at 22 million parameters they are most of the work.
#
# Full integer quantization is another matter for this model: it cost more than 5 points of
# accuracy here, where the image models of the overview lost less than 1. The next cell looks at
# why.

# %% [markdown]
# ## Why full integer quantization hurts this encoder
#
# The encoder adds a large negative bias (-1e9) to the attention scores of padding tokens, so that
# softmax ignores them. In the int8 model, each tensor is stored with one scale for its whole
# range, and the range of the masked scores runs from -1e9 to the largest real score. One int8
# step then spans millions, and every real score of a sentence falls on the same step: attention
# over the real tokens becomes uniform.

# %%
from ai_edge_litert.interpreter import Interpreter


def masked_scores_step(tflite_model):
    """The int8 quantization step (scale) of the first layer's masked attention scores."""
    interpreter = Interpreter(model_content=tflite_model)
    steps = [
        detail["quantization"][0]
        for detail in interpreter.get_tensor_details()
        if "layer_0_masked_scores" in detail["name"] and detail["dtype"] == np.int8
    ]
    return max(steps) if steps else None


int8_masked_scores_step = masked_scores_step(tflite_models["int8"]) if "int8" in modes else None
if int8_masked_scores_step is None:
    int8_masked_scores_step_unmeasured_reason = (
        "no int8 model, or no int8 masked-scores tensor in it"
    )
else:
    print(f"one int8 step of the masked attention scores: {int8_masked_scores_step:,.0f}")

# %% [markdown]
# One int8 step of the masked attention scores is worth more than a million, where a sentence's
# real scores differ by a few units. To quantize such an encoder fully, keep the masking out of
# the quantized range (a mask bias near the scores' own range, or attention computed in float
# with the quantization debugger's denylist), or train it with quantization in the loop. Dynamic
# range quantization, which keeps activations in float, has no such problem, and is the mode to
# start with for a transformer.
