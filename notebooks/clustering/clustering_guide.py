# %% [markdown]
# # Weight clustering: the comprehensive guide

# %% [markdown]
# This guide is a set of short recipes for the weight clustering API of the TensorFlow Model
# Optimization Toolkit (TFMOT). Each section answers one question you may have once you know the
# basics from the end-to-end tutorial, and checks its answer with an assertion, so a recipe that
# stopped working would fail loudly:
#
# * cluster a whole model,
# * cluster only some layers, in a Sequential or a Functional model,
# * cluster a convolution per output channel,
# * make a custom layer clusterable,
# * save a model in the middle of clustering and load it back,
# * choose how the centroids start.
#
# All sections work on the same small Fashion-MNIST classifier, trained once at the start.

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
# The parameters of the run. Lower `train_samples` and the epochs for a quick try.

# %% tags=["parameters"]
seed = 42
train_samples = 60000  # size of the training subset (60000: all of Fashion-MNIST)
batch_size = 128
baseline_epochs = 4
finetune_epochs = 1
finetune_learning_rate = 1e-4
number_of_clusters = 16
per_channel_clusters = 8
init_comparison_clusters = 4
initializations = ["LINEAR", "KMEANS_PLUS_PLUS", "DENSITY_BASED", "RANDOM"]

# %% [markdown]
# The helpers: `measure` (sizes, LiteRT accuracy, tables), `models` (data, the tutorial CNN,
# compile and accuracy helpers), `convert` (Keras to `.tflite`) and `weights` (reading the weight
# tensors back out of a `.tflite` file).

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include models

# %%
# tutorial-gen: include convert

# %%
# tutorial-gen: include weights

# %% [markdown]
# ## A trained model to start from
#
# Clustering is applied to a trained model and followed by a short fine-tuning. You train the
# tutorial CNN once and save it, so that every section below starts from a fresh copy of the same
# weights.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="clustering_guide_")
(x_train, y_train), (x_test, y_test) = load_fashion_mnist(train_samples)

baseline_model = compile_for_training(tutorial_cnn())
baseline_model.fit(
    x_train, y_train, batch_size=batch_size, epochs=baseline_epochs, validation_split=0.1, verbose=2
)
baseline_accuracy = keras_accuracy(baseline_model, x_test, y_test)
baseline_path = os.path.join(workdir, "baseline.h5")
keras.models.save_model(baseline_model, baseline_path, include_optimizer=False)
print(f"baseline accuracy: {baseline_accuracy:.2%}")


def fresh_baseline():
    """A new copy of the trained baseline (clustering wraps a model's own layers)."""
    return keras.models.load_model(baseline_path, compile=False)


def fine_tune(model, epochs=None):
    """The short, low learning-rate fine-tuning every section uses."""
    compile_for_training(model, learning_rate=finetune_learning_rate)
    model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs or finetune_epochs,
        validation_split=0.1,
        verbose=2,
    )
    return model


def kernel_values(model):
    """Distinct values in each kernel of a (stripped) Keras model, by layer name."""
    return {
        layer.name: unique_values(layer.kernel.numpy())
        for layer in model.layers
        if hasattr(layer, "kernel")
    }


# %% [markdown]
# ## Cluster the whole model
#
# Pass the model to `cluster_weights`. Every layer gets a `ClusterWeights` wrapper. In the layers
# whose kernel it knows how to cluster (convolutions, dense, embedding, recurrent layers and more),
# the wrapper keeps the centroids of that kernel; layers without weights pass through unchanged.
# `number_of_clusters` is the number of distinct values each kernel will hold.

# %%
whole_model = tfmot.clustering.keras.cluster_weights(
    fresh_baseline(),
    number_of_clusters=number_of_clusters,
    cluster_centroids_init=tfmot.clustering.keras.CentroidInitialization.KMEANS_PLUS_PLUS,
)
show_table(
    ["layer", "wrapper", "clustered weights"],
    [
        [layer.name, type(layer).__name__, ", ".join(layer.cluster_centroids) or "none"]
        for layer in whole_model.layers
    ],
)
clustered_layers = [layer.layer.name for layer in whole_model.layers if layer.cluster_centroids]
assert clustered_layers == [
    layer.name for layer in baseline_model.layers if hasattr(layer, "kernel")
]

fine_tune(whole_model)
whole_model_accuracy = keras_accuracy(whole_model, x_test, y_test)
whole_model_tflite = to_tflite(tfmot.clustering.keras.strip_clustering(whole_model))
whole_model_max_unique_values = max(
    unique_values(kernel) for kernel in tflite_kernels(whole_model_tflite).values()
)
assert whole_model_max_unique_values <= number_of_clusters
print(
    f"accuracy {whole_model_accuracy:.2%} (baseline {baseline_accuracy:.2%}); "
    f"most distinct values in a .tflite kernel: {whole_model_max_unique_values}"
)

# %% [markdown]
# The convolution and the dense kernel are clustered, and after `strip_clustering` and conversion no kernel of the `.tflite`
# holds more than 16 distinct values.
#
# ## Cluster only some layers
#
# Clustering some layers hurts accuracy more than others: often the first convolution, whose few
# weights each matter a lot. To cluster only the layers you choose, clone the model with a
# `clone_function` that wraps those layers and returns the others unchanged. It works the same for
# Sequential and Functional models.


# %%
def cluster_dense_only(layer):
    if isinstance(layer, keras.layers.Dense):
        return tfmot.clustering.keras.cluster_weights(
            layer,
            number_of_clusters=number_of_clusters,
            cluster_centroids_init=tfmot.clustering.keras.CentroidInitialization.KMEANS_PLUS_PLUS,
        )
    return layer


# A Sequential model.
some_layers_sequential = keras.models.clone_model(
    fresh_baseline(), clone_function=cluster_dense_only
)

# The same network written as a Functional model.
inputs = keras.Input(shape=(28, 28))
features = keras.layers.Reshape((28, 28, 1))(inputs)
features = keras.layers.Conv2D(12, 3, activation="relu")(features)
features = keras.layers.MaxPooling2D(2)(features)
outputs = keras.layers.Dense(10)(keras.layers.Flatten()(features))
functional_model = keras.Model(inputs, outputs)
functional_model.set_weights(fresh_baseline().get_weights())
some_layers_functional = keras.models.clone_model(
    functional_model, clone_function=cluster_dense_only
)

for name, model in [("Sequential", some_layers_sequential), ("Functional", some_layers_functional)]:
    print(name, [type(layer).__name__ for layer in model.layers])

fine_tune(some_layers_functional)
some_layers_values = kernel_values(tfmot.clustering.keras.strip_clustering(some_layers_functional))
show_table(["layer", "distinct kernel values"], [[k, v] for k, v in some_layers_values.items()])
some_layers_conv_unique_values, some_layers_dense_unique_values = some_layers_values.values()
assert some_layers_dense_unique_values <= number_of_clusters < some_layers_conv_unique_values

# %% [markdown]
# Only the dense layer was wrapped: after fine-tuning its kernel holds at most 16 values, while
# the convolution kept all its 108 distinct weights. The clone function returns the layers it
# leaves alone as they are, so the clone shares them, trained weights included, with the model it
# was cloned from; the wrappers hold the layers they wrap too. Clone from a copy you do not need to
# keep intact.
#
# ## Cluster a convolution per channel
#
# Post-training quantization quantizes convolution kernels per output channel, each channel with
# its own scale. Clustering can follow the same layout: with `cluster_per_channel=True`, each
# output channel of a `Conv2D` gets its own `number_of_clusters` centroids, so the whole kernel
# holds up to `number_of_clusters` times the number of channels. That keeps more accuracy than
# one set of centroids for the whole kernel.
#
# A channel must have more weights than clusters, or the layer is skipped with a warning. The
# tutorial CNN's convolution has only 9 weights per channel, so this section uses a network with a
# second convolution of 16 channels with 108 weights each.

# %%
keras.utils.set_random_seed(seed)
two_conv = compile_for_training(
    keras.Sequential(
        [
            keras.layers.InputLayer(input_shape=(28, 28)),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(12, 3, activation="relu", name="conv_a"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(16, 3, activation="relu", name="conv_b"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, name="classifier"),
        ]
    )
)
two_conv.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=max(1, baseline_epochs // 2),
    validation_split=0.1,
    verbose=2,
)


def cluster_conv_b_per_channel(layer):
    if layer.name == "conv_b":
        return tfmot.clustering.keras.cluster_weights(
            layer,
            number_of_clusters=per_channel_clusters,
            cluster_centroids_init=tfmot.clustering.keras.CentroidInitialization.KMEANS_PLUS_PLUS,
            cluster_per_channel=True,
        )
    return layer


per_channel_model = fine_tune(
    keras.models.clone_model(two_conv, clone_function=cluster_conv_b_per_channel)
)
per_channel_tflite = to_tflite(tfmot.clustering.keras.strip_clustering(per_channel_model))
conv_b_kernel = next(
    kernel for name, kernel in tflite_kernels(per_channel_tflite).items() if "conv_b" in name
)
per_channel_unique_values = [
    unique_values(channel) for channel in conv_b_kernel
]  # axis 0 = output channel
per_channel_max_unique_values = max(per_channel_unique_values)
per_channel_kernel_unique_values = unique_values(conv_b_kernel)
print(
    f"conv_b in the .tflite: shape {conv_b_kernel.shape}, "
    f"{per_channel_kernel_unique_values} distinct values in all, "
    f"per output channel: {per_channel_unique_values}"
)
assert per_channel_max_unique_values <= per_channel_clusters < per_channel_kernel_unique_values

# %% [markdown]
# Each of the 16 output channels holds at most 8 distinct values, while the kernel as a whole holds
# many more: each channel got centroids of its own. (Here you passed the layer itself through
# `clone_model` rather than a fresh copy: the wrapper shares it, which is fine because you do not
# reuse `two_conv`.)
#
# ## Make a custom layer clusterable
#
# `cluster_weights` refuses layers it does not know. To cluster your own layer, also derive it from
# `ClusterableLayer` and implement `get_clusterable_weights`, which returns the `(name, variable)`
# pairs to cluster. The wrapper replaces the attribute of that name with the clustered weights
# before each call, so the layer must read its weight through that attribute in `call`. And let
# `build` end with `super().build(input_shape)`: `strip_clustering` builds a clean copy of the layer
# and then sets its weights, and a layer that does not mark itself built would be built a second
# time, with fresh random weights, when the stripped model first calls it.
#
# Here is a dense layer with a learned scale per output: you cluster its kernel but not its
# scales, which are few and sensitive.


# %%
class ScaledDense(keras.layers.Layer, tfmot.clustering.keras.ClusterableLayer):
    """y = (x @ kernel) * scale + bias."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(
            "kernel", shape=(input_shape[-1], self.units), initializer="glorot_uniform"
        )
        self.scale = self.add_weight("scale", shape=(self.units,), initializer="ones")
        self.bias = self.add_weight("bias", shape=(self.units,), initializer="zeros")
        super().build(input_shape)  # marks the layer built: strip_clustering builds it itself

    def call(self, inputs):
        return tf.matmul(inputs, self.kernel) * self.scale + self.bias

    def get_config(self):
        return {**super().get_config(), "units": self.units}

    def get_clusterable_weights(self):
        return [("kernel", self.kernel)]


keras.utils.set_random_seed(seed)
custom_model = compile_for_training(
    keras.Sequential(
        [
            keras.layers.InputLayer(input_shape=(28, 28)),
            keras.layers.Flatten(),
            ScaledDense(64, name="scaled_dense"),
            keras.layers.ReLU(),
            keras.layers.Dense(10),
        ]
    )
)
custom_model.fit(x_train, y_train, batch_size=batch_size, epochs=1, validation_split=0.1, verbose=2)
custom_clustered = fine_tune(
    tfmot.clustering.keras.cluster_weights(
        custom_model,
        number_of_clusters=number_of_clusters,
        cluster_centroids_init=tfmot.clustering.keras.CentroidInitialization.KMEANS_PLUS_PLUS,
    )
)
custom_stripped = tfmot.clustering.keras.strip_clustering(custom_clustered)
scaled_dense = custom_stripped.get_layer("scaled_dense")
custom_kernel_unique_values = unique_values(scaled_dense.kernel.numpy())
custom_scale_unique_values = unique_values(scaled_dense.scale.numpy())
print(
    f"ScaledDense kernel: {custom_kernel_unique_values} distinct values; "
    f"scale: {custom_scale_unique_values} distinct values out of {scaled_dense.units}"
)
assert custom_kernel_unique_values <= number_of_clusters
assert custom_scale_unique_values > number_of_clusters

# %% [markdown]
# The kernel of the custom layer holds at most 16 values; its 64 scales were left alone. A layer
# derived from a built-in one, such as `Dense`, can do the same to choose which of its weights to
# cluster. A weight with an unusual layout can also bring its own lookup by overriding
# `get_clusterable_algorithm`.
#
# ## Save a clustered model and load it back
#
# Long fine-tuning runs need checkpoints. A model with its clustering wrappers saves to `.h5` like
# any Keras model, optimizer included, but loading it needs `cluster_scope()`, which tells Keras
# what a `ClusterWeights` layer is.

# %%
checkpoint_path = os.path.join(workdir, "clustered_checkpoint.h5")
keras.models.save_model(whole_model, checkpoint_path, include_optimizer=True)

try:
    keras.models.load_model(checkpoint_path)
    loads_without_scope = True
except ValueError as error:
    loads_without_scope = False
    print("without cluster_scope:", str(error).splitlines()[0][:120])
assert not loads_without_scope

with tfmot.clustering.keras.cluster_scope():
    restored_model = keras.models.load_model(checkpoint_path)

original_logits = whole_model.predict(x_test, batch_size=512, verbose=0)
restored_logits = restored_model.predict(x_test, batch_size=512, verbose=0)
restored_max_logit_difference = float(np.max(np.abs(original_logits - restored_logits)))
assert np.array_equal(original_logits, restored_logits)
print(f"largest difference between the logits of the two models: {restored_max_logit_difference}")

# %% [markdown]
# Without the scope, loading fails; with it, the restored model gives exactly the same logits on
# all 10,000 test images, and it still carries its wrappers and its optimizer state, so you can
# go on fine-tuning it. Strip it only when you are done.
#
# ## Choose how the centroids start
#
# `cluster_centroids_init` sets where the centroids of each kernel start, before fine-tuning
# moves them:
#
# * `LINEAR` spaces them evenly between the smallest and the largest weight;
# * `KMEANS_PLUS_PLUS` (the default) picks them from the weights with the k-means++ seeding;
# * `DENSITY_BASED` places them by the distribution of the weights, more where weights are dense;
# * `RANDOM` draws them uniformly between the smallest and the largest weight.
#
# You cluster the same baseline with each, into only 4 clusters so that the differences show, and
# fine-tune each the same way.

# %%
init_results = {}
for init in initializations:
    keras.utils.set_random_seed(seed)
    model = tfmot.clustering.keras.cluster_weights(
        fresh_baseline(),
        number_of_clusters=init_comparison_clusters,
        cluster_centroids_init=tfmot.clustering.keras.CentroidInitialization[init],
    )
    compile_for_training(model, learning_rate=finetune_learning_rate)
    before = keras_accuracy(model, x_test, y_test)
    print(f"--- {init}")
    fine_tune(model)
    after = keras_accuracy(model, x_test, y_test)
    values = max(kernel_values(tfmot.clustering.keras.strip_clustering(model)).values())
    assert values <= init_comparison_clusters
    init_results[init] = (before, after)

show_table(
    ["initialization", "before fine-tuning", "after fine-tuning", "change from baseline"],
    [
        [init, f"{before:.2%}", f"{after:.2%}", f"{100 * (after - baseline_accuracy):+.2f} points"]
        for init, (before, after) in init_results.items()
    ],
)
befores = [before for before, _ in init_results.values()]
afters = [after for _, after in init_results.values()]
init_spread_before = max(befores) - min(befores)
init_spread_after = max(afters) - min(afters)
init_best_accuracy = max(afters)
init_worst_accuracy = min(afters)
init_linear_accuracy = init_results["LINEAR"][1]
init_kmeans_accuracy = init_results["KMEANS_PLUS_PLUS"][1]

# %%
positions = np.arange(len(initializations))
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.bar(
    positions - 0.2,
    [init_results[i][0] for i in initializations],
    width=0.4,
    label="before fine-tuning",
    color="#b0b0b0",
)
bars = ax.bar(
    positions + 0.2,
    [init_results[i][1] for i in initializations],
    width=0.4,
    label="after fine-tuning",
    color="#1f77b4",
)
ax.bar_label(
    bars, labels=[f"{init_results[i][1]:.1%}" for i in initializations], fontsize=8, padding=2
)
ax.axhline(baseline_accuracy, color="black", linestyle="--", linewidth=1, label="baseline")
ax.set_xticks(positions, initializations)
ax.set_ylabel("test accuracy")
ax.set_ylim(0, 1.1)
ax.set_title(f"{init_comparison_clusters} clusters per kernel: centroid initializations")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
fig.tight_layout()
plt.show()

# %% [markdown]
# With only 4 values per kernel, the starting point matters. Right after clustering, the
# initializations are more than 10 points apart in accuracy, and fine-tuning closes most of the
# gap, though not all of it. In your run `KMEANS_PLUS_PLUS`, the default, ends closest to the
# baseline; the order of the others changes from run to run. Evenly spaced centroids (`LINEAR`)
# can spend most of the 4 values on the sparse tails of the weight distribution and leave few
# where most weights are, near zero.
#
# The TFMOT clustering overview reports (a published finding, on its own models) that `LINEAR`
# outperforms density-based and random initialization in most cases, and the end-to-end tutorial
# follows the TFMOT example in using it with 16 clusters, where there are centroids enough for both
# the tails and the bulk. With very few clusters, as here, try `KMEANS_PLUS_PLUS` or
# `DENSITY_BASED` too, and compare on your own model: it takes one short fine-tuning per
# initialization.
#
# ## Summary
#
# | to | use |
# |---|---|
# | cluster a whole model | `cluster_weights(model, number_of_clusters=..., cluster_centroids_init=...)` |
# | cluster some layers | `keras.models.clone_model(model, clone_function=...)` wrapping the chosen layers |
# | cluster a `Conv2D` per output channel | `cluster_weights(..., cluster_per_channel=True)` |
# | cluster a custom layer | derive from `ClusterableLayer`, implement `get_clusterable_weights` |
# | load a model saved during clustering | `with cluster_scope(): keras.models.load_model(...)` |
# | export | `strip_clustering(model)`, then save or convert, then compress |
