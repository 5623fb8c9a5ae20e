# %% [markdown]
# # Quantization-aware training of a pretrained text encoder

# %% [markdown]
# The text results of the quantization-aware training overview. A pretrained BERT-style encoder,
# all-MiniLM-L6-v2 (6 layers, 22.6 million parameters), gets a two-class head and is fine-tuned to
# tell fresh Rotten Tomatoes review snippets from rotten ones. That fine-tuned classifier is the
# baseline.
#
# First you see what `quantize_model`, which quantizes a whole model, makes of it. Then
# quantization-aware training is applied where TFMOT supports it: each `Dense` layer of the
# encoder is annotated, `quantize_apply` inserts fake quantization around them, and a copy of the
# baseline is fine-tuned for as long again. For comparison, the baseline is also converted with
# dynamic range post-training quantization. Every configuration is exported to TensorFlow Lite
# and measured in LiteRT: accuracy on 1,000 held-out reviews, raw and zipped size, latency on one
# thread and runtime memory.

# %%
# tutorial-gen: setup

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import tempfile

import numpy as np
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
epochs = 1  # of fine-tuning: of the baseline, and of the quantization-aware copy
latency_runs = 100
measure_memory = True

# %% [markdown]
# The helpers: measuring (`measure`), conversion (`convert`), the results table (`results`) and
# the text task (`text`: the reviews, the encoder with its published weights, the classifier, and
# `wrap_layers` to wrap chosen layers of it), and `weights` (`tflite_kernels`, the weight tensors
# of a `.tflite` file).

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
workdir = tempfile.mkdtemp(prefix="qat_text_results_")
encoder, tokenizer = pretrained_minilm(sequence_length, encoder_layers)
(x_train, y_train), (x_test, y_test) = review_splits(tokenizer, train_samples, test_samples, seed)
classifier = compile_text(review_classifier(encoder, x_train, y_train))
classifier.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=2)
dense_names = encoder_dense_layers(classifier)
dense_weights = sum(classifier.get_layer(name).kernel.shape.num_elements() for name in dense_names)
print(f"{len(dense_names)} Dense layers of the encoder, {dense_weights:,} weights")

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
# ## The whole model: `quantize_model`
#
# `quantize_model` annotates every layer and quantizes the model's inputs as well. Its error, if it
# stops, says where.

# %%
Quantization = tfmot.quantization.keras
try:
    Quantization.quantize_model(classifier)
    quantize_model_refused = 0
    quantize_model_error = None
except (ValueError, TypeError, RuntimeError) as error:
    quantize_model_refused = 1
    quantize_model_error = f"{type(error).__name__}: {error}"
    print(quantize_model_error.split("Call arguments")[0][:1500])

# %% [markdown]
# `quantize_model` wraps each model input in a `QuantizeLayer` that fake-quantizes it as a float
# tensor, and this model's inputs are int32 token ids and an int32 mask: the fake-quantization op
# rejects them, before any layer of the encoder is reached. Quantizing the whole model is not an
# option for a model whose inputs are ids, so the next cell quantizes the layers that carry the
# weights.

# %% [markdown]
# ## The `Dense` layers: `quantize_annotate_layer` and `quantize_apply`

# %%
keras.utils.set_random_seed(seed)
annotated = wrap_layers(classifier, dense_names, Quantization.quantize_annotate_layer)
qat_model = Quantization.quantize_apply(annotated)
compile_text(qat_model).fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=2)
qat_tflite = to_tflite(qat_model, "dynamic")
wrapped = [layer for layer in qat_model.layers if isinstance(layer, Quantization.QuantizeWrapperV2)]
quantized_dense_layers = sum(isinstance(layer.layer, keras.layers.Dense) for layer in wrapped)
quantized_dense_fraction = quantized_dense_layers / len(dense_names)
print(
    f"{len(wrapped)} layers trained with quantization, {quantized_dense_layers} of them Dense: "
    + ", ".join(sorted({type(layer.layer).__name__ for layer in wrapped}))
)

measured = measure_tflite(
    qat_tflite,
    x_test,
    y_test,
    workdir,
    "minilm_qat_dense.tflite",
    latency_runs=latency_runs,
    memory=measure_memory,
)
results_rows.append(
    results_row(MODEL_NAME, "QAT of the Dense layers (int8)", "QAT int8", measured, baseline)
)
measured = measure_tflite(
    to_tflite(classifier, "dynamic"),
    x_test,
    y_test,
    workdir,
    "minilm_dynamic.tflite",
    latency_runs=latency_runs,
    memory=measure_memory,
)
results_rows.append(
    results_row(MODEL_NAME, "dynamic range PTQ (int8 weights)", "PTQ dynamic", measured, baseline)
)

# %% [markdown]
# ## Results

# %%
results_table(results_rows)
qat_row = find_row(results_rows, MODEL_NAME, hyperparameter="QAT int8")
ptq_row = find_row(results_rows, MODEL_NAME, hyperparameter="PTQ dynamic")
qat_accuracy_drop = accuracy_drop(qat_row)
ptq_accuracy_drop = accuracy_drop(ptq_row)
qat_size_ratio = raw_ratio(results_rows, qat_row)
ptq_size_ratio = raw_ratio(results_rows, ptq_row)

# %% [markdown]
# ## What the converter made of the quantization-aware model
#
# A `.tflite` file stores a kernel in 8 bits only where the converter can run its layer in
# integers. The next cell reads the weight tensors back out of the file and counts the 8-bit
# ones.

# %%
kernels = tflite_kernels(qat_tflite, min_size=1024)
int8_kernels = [name for name, values in kernels.items() if values.dtype == np.int8]
qat_int8_kernel_fraction = len(int8_kernels) / len(kernels)
print(f"{len(int8_kernels)} of the {len(kernels)} weight tensors of the QAT model are int8")

# %% [markdown]
# `quantize_model` refuses this classifier, and the error names the `QuantizeLayer` on the int32
# inputs. With the `Dense` layers annotated one by one, quantization-aware training runs, but
# the converter cannot use what it learned: every `Dense` layer takes its input from a
# `LayerNormalization` or a reshape that TFMOT does not quantize, so its kernel stays float32
# in the file, with fake-quantized values. None of the weight tensors of the QAT model is stored
# in 8 bits, and its file is as large as the baseline's (less than 5% smaller). Dynamic range
# post-training quantization of the same baseline, without any training, makes a file 3.9x
# smaller. For an encoder like this one, start with dynamic range quantization; quantization-aware
# training needs quantize configurations for the normalization and attention layers, which TFMOT
# does not provide.
