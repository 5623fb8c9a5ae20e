# %% [markdown]
# # Collaborative optimization comprehensive guide

# %% [markdown]
# This guide shows each collaborative optimization API of the TensorFlow Model Optimization
# Toolkit (TFMOT) on its own, in one short section per use case:
#
# * sparsity-preserving clustering: cluster a pruned model and keep its zeros;
# * PQAT: quantization-aware training that keeps the zeros of a pruned model;
# * CQAT: quantization-aware training that keeps the clusters of a clustered model;
# * PCQAT: quantization-aware training that keeps both;
# * checkpointing a PCQAT model during training and restoring it.
#
# Each section ends with a check on the exported TensorFlow Lite model, where it matters: an
# `assert` in the code, and a sentence whose number the run verifies. For the whole journey
# with sizes and accuracies, see the collaborative optimization tutorial.

# %%
# tutorial-gen: setup

# %% [markdown]
# ## Set up
#
# TFMOT 0.8 needs Keras 2, so set `TF_USE_LEGACY_KERAS` before TensorFlow is imported and use
# the `tf_keras` package.

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import tempfile

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras
from ai_edge_litert.interpreter import Interpreter

print("TensorFlow", tf.__version__, "| tf_keras", keras.__version__, "| TFMOT", tfmot.__version__)

# %% tags=["parameters"]
seed = 42
train_samples = 60000
batch_size = 128
baseline_epochs = 3
fine_tune_epochs = 1
fine_tune_learning_rate = 1e-4
target_sparsity = 0.5
number_of_clusters = 8

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include models

# %%
# tutorial-gen: include convert

# %%
# tutorial-gen: include weights

# %% [markdown]
# A few helpers. `kernel_structure` reads an exported `.tflite` model and returns the share of
# zero weights in its kernels and the largest number of distinct values per quantization scale
# in any kernel. (An int8 convolution kernel has one scale per output channel, so one cluster
# centroid becomes a different integer in each channel; counting per scale is what tells
# whether the clusters survived.)


# %%
def kernel_structure(tflite_model):
    """(fraction of zeros, largest number of distinct values per quantization scale) of the kernels."""
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


def fine_tune(model, callbacks=(), epochs=None):
    compile_for_training(model, learning_rate=fine_tune_learning_rate)
    model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs or fine_tune_epochs,
        verbose=2,
        callbacks=list(callbacks),
    )
    return model


def export_int8(model):
    return to_tflite(model, "int8", representative=x_train)


# %% [markdown]
# ## A trained model, and a pruned copy
#
# Every section starts from the same trained tutorial CNN. Sections that need a pruned model
# use one pruned to 50% sparsity and stripped of its pruning wrappers: all the collaborative
# APIs expect a *stripped* model as input.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="collaborative_guide_")
(x_train, y_train), (x_test, y_test) = load_fashion_mnist(train_samples)

base_model = compile_for_training(tutorial_cnn())
base_model.fit(x_train, y_train, batch_size=batch_size, epochs=baseline_epochs, verbose=2)

pruned_model = tfmot.sparsity.keras.prune_low_magnitude(
    copy_model(base_model),
    pruning_schedule=tfmot.sparsity.keras.ConstantSparsity(
        target_sparsity, begin_step=0, frequency=10
    ),
)
fine_tune(pruned_model, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
pruned_model = tfmot.sparsity.keras.strip_pruning(pruned_model)

pruned_sparsity, _ = kernel_structure(to_tflite(pruned_model, "float"))
print(f"zeros in the kernels of the pruned model: {pruned_sparsity:.2%}")
assert pruned_sparsity >= target_sparsity - 0.01

# %% [markdown]
# ## Sparsity-preserving clustering
#
# Pass `preserve_sparsity=True` to `cluster_weights` along with the usual clustering
# parameters. The clustering wrappers then keep a mask of the zero weights: zeros stay zero,
# and the other weights are clustered. The TFMOT examples import it from
# `tfmot.clustering.keras.experimental.cluster`; the stable `tfmot.clustering.keras.cluster_weights`
# accepts the same keyword in TFMOT 0.8.1.

# %%
spc_model = tfmot.clustering.keras.cluster_weights(
    copy_model(pruned_model),
    number_of_clusters=number_of_clusters,
    cluster_centroids_init=tfmot.clustering.keras.CentroidInitialization.KMEANS_PLUS_PLUS,
    preserve_sparsity=True,
)
fine_tune(spc_model)
spc_model = tfmot.clustering.keras.strip_clustering(spc_model)

spc_sparsity, spc_values = kernel_structure(to_tflite(spc_model, "float"))
print(f"zeros: {spc_sparsity:.2%}; most distinct values in a kernel: {spc_values}")
assert spc_sparsity >= pruned_sparsity and spc_values <= number_of_clusters

# %% [markdown]
# The clustered `.tflite` model keeps the zeros of the pruned model, and each kernel holds at
# most 8 distinct values.
#
# ## PQAT: quantization-aware training that keeps the zeros
#
# Annotate the stripped pruned model with `quantize_annotate_model`, then apply quantization
# with the `Default8BitPrunePreserveQuantizeScheme` scheme. Plain `quantize_model` would let
# the zero weights drift during training.

# %%
pqat_model = tfmot.quantization.keras.quantize_apply(
    tfmot.quantization.keras.quantize_annotate_model(copy_model(pruned_model)),
    tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme(),
)
fine_tune(pqat_model)

pqat_tflite = export_int8(pqat_model)
pqat_sparsity, _ = kernel_structure(pqat_tflite)
pqat_accuracy = tflite_accuracy(pqat_tflite, x_test, y_test)
print(f"int8 PQAT model: zeros {pqat_sparsity:.2%}, LiteRT accuracy {pqat_accuracy:.2%}")
assert pqat_sparsity >= pruned_sparsity

# %% [markdown]
# In the int8 `.tflite` model, PQAT keeps every zero of the pruned model.
#
# ## CQAT: quantization-aware training that keeps the clusters
#
# For a model that was clustered but not pruned, use `Default8BitClusterPreserveQuantizeScheme()`.
# It trains the cluster centroids instead of the individual weights, so the weights of each
# kernel keep sharing a few values.

# %%
clustered_model = tfmot.clustering.keras.cluster_weights(
    copy_model(base_model),
    number_of_clusters=number_of_clusters,
    cluster_centroids_init=tfmot.clustering.keras.CentroidInitialization.KMEANS_PLUS_PLUS,
)
fine_tune(clustered_model)
clustered_model = tfmot.clustering.keras.strip_clustering(clustered_model)

cqat_model = tfmot.quantization.keras.quantize_apply(
    tfmot.quantization.keras.quantize_annotate_model(copy_model(clustered_model)),
    tfmot.experimental.combine.Default8BitClusterPreserveQuantizeScheme(),
)
fine_tune(cqat_model)

cqat_tflite = export_int8(cqat_model)
_, cqat_values = kernel_structure(cqat_tflite)
cqat_accuracy = tflite_accuracy(cqat_tflite, x_test, y_test)
print(
    f"int8 CQAT model: most distinct values per scale {cqat_values}, LiteRT accuracy {cqat_accuracy:.2%}"
)
assert cqat_values <= number_of_clusters

# %% [markdown]
# The int8 CQAT model holds at most 8 distinct values per quantization scale in every
# kernel: the clusters survive quantization.
#
# ## PCQAT: keep both the zeros and the clusters
#
# For a model that was pruned and then clustered with `preserve_sparsity=True`, pass
# `preserve_sparsity=True` to the cluster-preserving scheme as well.

# %%
pcqat_scheme = tfmot.experimental.combine.Default8BitClusterPreserveQuantizeScheme(
    preserve_sparsity=True
)


def make_pcqat(model):
    """The PCQAT model of a stripped, pruned and sparsity-preserving clustered model."""
    return tfmot.quantization.keras.quantize_apply(
        tfmot.quantization.keras.quantize_annotate_model(copy_model(model)), pcqat_scheme
    )


pcqat_model = make_pcqat(spc_model)
checkpoint = os.path.join(workdir, "pcqat_checkpoint", "weights")
fine_tune(
    pcqat_model, callbacks=[keras.callbacks.ModelCheckpoint(checkpoint, save_weights_only=True)]
)

pcqat_tflite = export_int8(pcqat_model)
pcqat_sparsity, pcqat_values = kernel_structure(pcqat_tflite)
pcqat_accuracy = tflite_accuracy(pcqat_tflite, x_test, y_test)
print(
    f"int8 PCQAT model: zeros {pcqat_sparsity:.2%}, most distinct values per scale {pcqat_values}, "
    f"LiteRT accuracy {pcqat_accuracy:.2%}"
)
assert pcqat_sparsity >= pruned_sparsity and pcqat_values <= number_of_clusters

# %% [markdown]
# The int8 PCQAT model keeps the sparsity of pruning and at most 8 distinct values per
# quantization scale.
#
# ## Checkpoint and restore a PCQAT model
#
# Long fine-tuning runs need checkpoints. The training above saved its weights with the
# `ModelCheckpoint` callback (`save_weights_only=True`). To resume, rebuild the PCQAT model
# with the same recipe from the same stripped, clustered model, load the weights, and go on
# training: the zeros and the clusters are still preserved.

# %%
restored_model = make_pcqat(spc_model)
restored_model.load_weights(checkpoint)
restored_max_abs_diff = float(
    np.max(
        np.abs(
            restored_model.predict(x_test[:500], verbose=0)
            - pcqat_model.predict(x_test[:500], verbose=0)
        )
    )
)
print(
    f"largest difference between the predictions of the trained and restored models: {restored_max_abs_diff}"
)
assert restored_max_abs_diff == 0.0

fine_tune(restored_model)
resumed_sparsity, resumed_values = kernel_structure(export_int8(restored_model))
print(
    f"after one more epoch: zeros {resumed_sparsity:.2%}, most distinct values per scale {resumed_values}"
)
assert resumed_sparsity >= pruned_sparsity and resumed_values <= number_of_clusters

# %% [markdown]
# The restored model predicts exactly what the trained one did, and after another epoch of
# training it still keeps its zeros and at most 8 distinct values per scale.
#
# To save the whole model, use the SavedModel format and load it inside both
# `quantize_scope()` and `cluster_scope()`, which tell Keras about the TFMOT layers and
# quantizers.

# %%
savedmodel_dir = os.path.join(workdir, "pcqat_savedmodel")
pcqat_model.save(savedmodel_dir, save_format="tf")
with tfmot.quantization.keras.quantize_scope(), tfmot.clustering.keras.cluster_scope():
    loaded_model = keras.models.load_model(savedmodel_dir)
savedmodel_max_abs_diff = float(
    np.max(
        np.abs(
            loaded_model.predict(x_test[:500], verbose=0)
            - pcqat_model.predict(x_test[:500], verbose=0)
        )
    )
)
print(
    f"largest difference between the predictions of the trained and reloaded models: {savedmodel_max_abs_diff}"
)
assert savedmodel_max_abs_diff == 0.0

# %% [markdown]
# The reloaded model predicts exactly what the saved one did. The `.h5` format is a different
# story in TFMOT 0.8.1: a PCQAT model saves to `.h5`, but reloading it fails, because the
# cluster-preserving quantizers carry weights the default quantizers do not expect. The next
# cell tries it and prints what happens.

# %%
h5_path = os.path.join(workdir, "pcqat.h5")
pcqat_model.save(h5_path)
try:
    with tfmot.quantization.keras.quantize_scope(), tfmot.clustering.keras.cluster_scope():
        keras.models.load_model(h5_path)
    print("the .h5 file reloaded")
except Exception as error:
    print("reloading the .h5 file failed:", str(error)[:200])

# %% [markdown]
# ## Summary
#
# | starting point | API | keeps |
# |---|---|---|
# | stripped pruned model | `cluster_weights(..., preserve_sparsity=True)` | zeros |
# | stripped pruned model | `quantize_apply(quantize_annotate_model(m), Default8BitPrunePreserveQuantizeScheme())` | zeros |
# | stripped clustered model | `quantize_apply(quantize_annotate_model(m), Default8BitClusterPreserveQuantizeScheme())` | clusters |
# | stripped pruned, sparsity-preserving clustered model | `quantize_apply(quantize_annotate_model(m), Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=True))` | zeros and clusters |
#
# Strip the wrappers of one step before starting the next, and check the result in the exported
# `.tflite` model.
