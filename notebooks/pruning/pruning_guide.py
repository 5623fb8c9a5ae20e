# %% [markdown]
# # Pruning: the comprehensive guide

# %% [markdown]
# This guide is a set of short recipes for the pruning API of the TensorFlow Model Optimization
# Toolkit (TFMOT). Each section answers one question you may have once you know the basics from
# the end-to-end tutorial, and checks its answer with an assertion, so that a recipe that stopped
# working fails loudly:
#
# * prune a whole model and train it with `Model.fit`,
# * prune only some layers, in a Sequential or a Functional model,
# * make a custom layer prunable,
# * prune in a custom training loop,
# * save a model in the middle of pruning, load it back and resume training,
# * prune in blocks of weights rather than weight by weight.
#
# Every section starts from the same small Fashion-MNIST classifier, trained once at the start.

# %%
# tutorial-gen: setup

# %% [markdown]
# ## Set up
#
# TFMOT 0.8 works with Keras 2 only, so the next cell asks TensorFlow for its legacy Keras (the
# `tf_keras` package) before TensorFlow is imported.

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import math
import tempfile

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

print("TensorFlow", tf.__version__, "| tf_keras", keras.__version__, "| TFMOT", tfmot.__version__)

# %% [markdown]
# The parameters of the run. Lower `train_samples` and the epochs for a quick try.

# %% tags=["parameters"]
seed = 42
train_samples = 60000  # all of Fashion-MNIST
batch_size = 128
baseline_epochs = 4
pruning_epochs = 2  # fine-tuning of the whole model
section_epochs = 1  # fine-tuning in the other sections
target_sparsity = 0.80
block_size = (4, 1)

# %% [markdown]
# The helpers: `measure` (sparsity, tables), `models` (data, the tutorial CNN, compile and
# accuracy helpers), `convert` (Keras to `.tflite`) and `weights` (reading the weight tensors
# back out of a `.tflite` file).

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
# Pruning works best on a trained model that you then fine-tune. The next cell trains the
# tutorial CNN once and saves it, so that every section below starts from a fresh copy of the
# same weights. A fresh copy matters: `prune_low_magnitude` wraps the layer objects of the model
# you give it, so pruning the baseline itself would change it.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="pruning_guide_")
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
    """A new copy of the trained baseline."""
    return keras.models.load_model(baseline_path, compile=False)


def pruning_schedule(steps):
    """Sparsity from 50% up to `target_sparsity` over `steps` training steps.

    The masks change every `frequency` steps, about twenty times over the run, and `end_step`
    falls on one of those updates, so the model reaches `target_sparsity` however short the run.
    """
    frequency = max(1, steps // 20)
    return tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.50,
        final_sparsity=target_sparsity,
        begin_step=0,
        end_step=(steps // frequency) * frequency,
        frequency=frequency,
    )


def fit_steps(epochs):
    """Optimizer steps of `Model.fit` over `epochs` with a tenth of the data held out."""
    return math.ceil(int(len(x_train) * 0.9) / batch_size) * epochs


def fine_tune(model, epochs, callbacks=()):
    """Fine-tune a pruned model; `UpdatePruningStep` advances its schedule."""
    compile_for_training(model)
    model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_split=0.1,
        verbose=2,
        callbacks=[tfmot.sparsity.keras.UpdatePruningStep(), *callbacks],
    )
    return model


def step_of(model):
    """The step count of the first pruning wrapper with weights to prune."""
    return int(
        next(
            layer for layer in model.layers if getattr(layer, "prunable_weights", None)
        ).pruning_step.numpy()
    )


def kernel_sparsity(model):
    """Fraction of zeros in each kernel of a Keras model, by layer name."""
    return {
        layer.name: sparsity([layer.kernel.numpy()])
        for layer in model.layers
        if hasattr(layer, "kernel")
    }


# %% [markdown]
# ## Prune the whole model and train it with `Model.fit`
#
# Pass the whole model to `prune_low_magnitude`. Every layer gets a `PruneLowMagnitude` wrapper;
# in the layers whose weights TFMOT knows how to prune (convolutions, dense, embedding, recurrent
# layers and more), the wrapper holds a mask and a threshold for each kernel. Layers without
# weights are wrapped too and have nothing to prune. Biases are never pruned.

# %%
whole_model = tfmot.sparsity.keras.prune_low_magnitude(
    fresh_baseline(), pruning_schedule=pruning_schedule(fit_steps(pruning_epochs))
)
show_table(
    ["layer", "wrapper", "pruned weights"],
    [
        [
            layer.layer.name,
            type(layer).__name__,
            ", ".join(w.name.split("/")[-1] for w in layer.prunable_weights) or "none",
        ]
        for layer in whole_model.layers
    ],
)
pruned_layers = [layer.layer.name for layer in whole_model.layers if layer.prunable_weights]
assert pruned_layers == [layer.name for layer in baseline_model.layers if hasattr(layer, "kernel")]

# %% [markdown]
# Training needs the `UpdatePruningStep` callback, which starts the schedule's step count. Forget
# it and `fit` stops at once with an error that tells you to add it:

# %%
try:
    compile_for_training(whole_model).fit(x_train[:batch_size], y_train[:batch_size], verbose=0)
    raise AssertionError("training without UpdatePruningStep should fail")
except tf.errors.InvalidArgumentError as error:
    message = next(line for line in str(error).splitlines() if "UpdatePruningStep" in line)
    print(message[message.index("Prune() wrapper") :].split("]")[0])

# %% [markdown]
# With the callback, training runs. If you have TensorBoard installed, you can add the
# `PruningSummaries(log_dir=...)` callback as well, which logs the sparsity of each layer as
# training goes.

# %%
fine_tune(whole_model, pruning_epochs)
whole_model_accuracy = keras_accuracy(whole_model, x_test, y_test)

whole_model_tflite = to_tflite(tfmot.sparsity.keras.strip_pruning(whole_model))
whole_model_kernels = tflite_kernels(whole_model_tflite)
whole_model_sparsity = sparsity(list(whole_model_kernels.values()))
show_table(
    ["kernel in the .tflite", "shape", "zeros"],
    [
        [name.split(";")[0], tuple(kernel.shape), f"{sparsity([kernel]):.2%}"]
        for name, kernel in whole_model_kernels.items()
    ],
)
print(
    f"accuracy {whole_model_accuracy:.2%} (baseline {baseline_accuracy:.2%}); "
    f"zeros in the .tflite kernels: {whole_model_sparsity:.2%}"
)

# %% [markdown]
# After `strip_pruning` and conversion, 80% of the kernel weights in the `.tflite` file are
# zero, and the pruned model stays within 1 point of the baseline's accuracy.
#
# ## Prune only some layers
#
# Some layers lose more accuracy than others when pruned, often the first convolution, whose few
# weights each matter a lot. To prune only the layers you choose, clone the model with a
# `clone_function` that wraps those layers and returns the others unchanged. Here only the dense
# layer is pruned. The same function works for a Sequential and for a Functional model.


# %%
def prune_dense_only(layer):
    if isinstance(layer, keras.layers.Dense):
        return tfmot.sparsity.keras.prune_low_magnitude(
            layer, pruning_schedule=pruning_schedule(fit_steps(section_epochs))
        )
    return layer


# A Sequential model.
some_layers_sequential = keras.models.clone_model(fresh_baseline(), clone_function=prune_dense_only)

# The same network written as a Functional model, with the baseline's weights.
inputs = keras.Input(shape=(28, 28))
features = keras.layers.Reshape((28, 28, 1))(inputs)
features = keras.layers.Conv2D(12, 3, activation="relu")(features)
features = keras.layers.MaxPooling2D(2)(features)
outputs = keras.layers.Dense(10)(keras.layers.Flatten()(features))
functional_model = keras.Model(inputs, outputs)
functional_model.set_weights(fresh_baseline().get_weights())
some_layers_functional = keras.models.clone_model(functional_model, clone_function=prune_dense_only)

some_layers = {}
for name, model in [("Sequential", some_layers_sequential), ("Functional", some_layers_functional)]:
    print(name, [type(layer).__name__ for layer in model.layers])
    fine_tune(model, section_epochs)
    some_layers[name] = kernel_sparsity(tfmot.sparsity.keras.strip_pruning(model))

show_table(
    ["model", "convolution kernel zeros", "dense kernel zeros"],
    [
        [name, f"{conv:.2%}", f"{dense:.2%}"]
        for name, (conv, dense) in ((name, values.values()) for name, values in some_layers.items())
    ],
)
sequential_conv_sparsity, sequential_dense_sparsity = some_layers["Sequential"].values()
functional_conv_sparsity, functional_dense_sparsity = some_layers["Functional"].values()
for conv, dense in [
    (sequential_conv_sparsity, sequential_dense_sparsity),
    (functional_conv_sparsity, functional_dense_sparsity),
]:
    assert conv == 0.0 and dense >= target_sparsity - 0.005, (conv, dense)

# %% [markdown]
# In both models only the dense layer was wrapped: its kernel reached the target sparsity while
# the convolution kept every weight. The clone function returns the layers it leaves alone as
# they are, so the clone shares them, trained weights included, with the model it was cloned
# from. Clone from a copy you do not need to keep intact.
#
# ## Make a custom layer prunable
#
# `prune_low_magnitude` knows the built-in Keras layers. For a layer of your own, tell it which
# weights to prune: subclass `tfmot.sparsity.keras.PrunableLayer` as well as `keras.layers.Layer`
# and implement `get_prunable_weights`. The layer below is a dense layer with a learned scale per
# output; only its kernel should be pruned.


# %%
@keras.utils.register_keras_serializable(package="pruning_guide")
class ScaledDense(keras.layers.Layer, tfmot.sparsity.keras.PrunableLayer):
    """A dense layer without bias whose outputs are multiplied by a learned scale each."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.units), initializer="glorot_uniform"
        )
        self.scale = self.add_weight(name="scale", shape=(self.units,), initializer="ones")

    def call(self, inputs):
        return tf.matmul(inputs, self.kernel) * self.scale

    def get_prunable_weights(self):
        return [self.kernel]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


keras.utils.set_random_seed(seed)
custom_model = keras.Sequential(
    [
        keras.layers.InputLayer(input_shape=(28, 28)),
        keras.layers.Flatten(),
        ScaledDense(64, name="scaled_dense"),
        keras.layers.ReLU(),
        keras.layers.Dense(10),
    ]
)
compile_for_training(custom_model).fit(
    x_train, y_train, batch_size=batch_size, epochs=1, validation_split=0.1, verbose=2
)
custom_pruned = tfmot.sparsity.keras.prune_low_magnitude(
    custom_model, pruning_schedule=pruning_schedule(fit_steps(section_epochs))
)
fine_tune(custom_pruned, section_epochs)
custom_stripped = tfmot.sparsity.keras.strip_pruning(custom_pruned)
custom_kernel_sparsity = sparsity([custom_stripped.get_layer("scaled_dense").kernel.numpy()])
custom_scale_sparsity = sparsity([custom_stripped.get_layer("scaled_dense").scale.numpy()])
print(
    f"custom layer: kernel {custom_kernel_sparsity:.2%} zeros, "
    f"scale {custom_scale_sparsity:.2%} zeros"
)
assert custom_kernel_sparsity >= target_sparsity - 0.005 and custom_scale_sparsity == 0.0

# %% [markdown]
# The custom layer's kernel reached the target sparsity and its scale vector kept every value.
# A layer with weights that TFMOT does not know and that does not implement `PrunableLayer`
# makes `prune_low_magnitude` raise an error:


# %%
class PlainScaledDense(keras.layers.Layer):
    """The same layer without `PrunableLayer`."""

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], 8))


try:
    tfmot.sparsity.keras.prune_low_magnitude(
        keras.Sequential([keras.layers.InputLayer(input_shape=(4,)), PlainScaledDense()])
    )
    raise AssertionError("an unknown layer should be rejected")
except ValueError as error:
    print(str(error).splitlines()[0][:160])

# %% [markdown]
# ## Prune in a custom training loop
#
# Without `Model.fit`, drive `UpdatePruningStep` yourself, the way the TFMOT documentation shows:
# give it the model, call `on_train_begin` once, `on_train_batch_begin` before every step and
# `on_epoch_end` after every epoch; the last applies the masks to the weights. Call the model
# with `training=True` in the step: that is what advances the wrappers' step count and updates
# their masks.

# %%
keras.utils.set_random_seed(seed)
dataset = (
    tf.data.Dataset.from_tensor_slices((x_train, y_train))
    .shuffle(len(x_train), seed=seed)
    .batch(batch_size)
)
loop_steps = len(dataset) * section_epochs
loop_model = tfmot.sparsity.keras.prune_low_magnitude(
    fresh_baseline(), pruning_schedule=pruning_schedule(loop_steps)
)
optimizer = keras.optimizers.Adam(1e-3)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


@tf.function
def train_step(images, labels):
    with tf.GradientTape() as tape:
        loss = loss_fn(labels, loop_model(images, training=True))
    gradients = tape.gradient(loss, loop_model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, loop_model.trainable_variables, strict=True))
    return loss


step_callback = tfmot.sparsity.keras.UpdatePruningStep()
step_callback.set_model(loop_model)
step_callback.on_train_begin()
for epoch in range(section_epochs):
    for images, labels in dataset:
        step_callback.on_train_batch_begin(batch=-1)
        loss = train_step(images, labels)
    step_callback.on_epoch_end(batch=-1)
    print(f"epoch {epoch + 1}: last batch loss {float(loss):.4f}")

pruning_step = step_of(loop_model)
loop_sparsity = sparsity([w.numpy() for layer in loop_model.layers for w in layer.prunable_weights])
loop_accuracy = keras_accuracy(loop_model, x_test, y_test)
print(
    f"{loop_steps} steps, pruning step {pruning_step}; zeros in the kernels: "
    f"{loop_sparsity:.2%}; accuracy {loop_accuracy:.2%}"
)
assert pruning_step == loop_steps and loop_sparsity >= target_sparsity - 0.005

# %% [markdown]
# The wrappers counted every step and the kernels reached the target sparsity. In TFMOT 0.8 the
# wrappers count the steps themselves when they run with `training=True`, and
# `on_train_batch_begin` is the empty method every Keras callback has; calling it anyway keeps
# your loop in the documented form.

# %%
assert "on_train_batch_begin" not in vars(tfmot.sparsity.keras.UpdatePruningStep)

# %% [markdown]
# ## Save a checkpoint and resume pruning
#
# To stop in the middle of pruning and go on later, save the model with its wrappers, and with
# its optimizer so that training resumes where it stopped. Both the `.h5` format and the
# `.keras` format keep the masks, thresholds and step counts. Load the file inside
# `tfmot.sparsity.keras.prune_scope()`, which tells Keras what the wrappers are.

# %%
checkpoint_model = tfmot.sparsity.keras.prune_low_magnitude(
    fresh_baseline(), pruning_schedule=pruning_schedule(fit_steps(2 * section_epochs))
)
fine_tune(checkpoint_model, section_epochs)
saved_step = step_of(checkpoint_model)
expected = checkpoint_model.predict(x_test, batch_size=512, verbose=0)

restored_max_logit_difference = 0.0
for extension in ["h5", "keras"]:
    path = os.path.join(workdir, f"checkpoint.{extension}")
    checkpoint_model.save(path)  # with the optimizer state, in both formats
    with tfmot.sparsity.keras.prune_scope():
        restored = keras.models.load_model(path)
    difference = float(
        np.max(np.abs(restored.predict(x_test, batch_size=512, verbose=0) - expected))
    )
    restored_step = step_of(restored)
    restored_max_logit_difference = max(restored_max_logit_difference, difference)
    print(
        f".{extension}: {type(restored.layers[1]).__name__} at step {restored_step}, "
        f"largest logit difference {difference}"
    )
    assert restored_step == saved_step and difference == 0.0

# Resume from the last file loaded: the schedule carries on from the saved step.
restored.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=section_epochs,
    validation_split=0.1,
    verbose=2,
    callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
)
resumed_step = step_of(restored)
resumed_sparsity = sparsity(
    [w.numpy() for layer in restored.layers for w in layer.prunable_weights]
)
print(f"resumed from step {saved_step} to step {resumed_step}; zeros: {resumed_sparsity:.2%}")
assert resumed_step == saved_step + fit_steps(section_epochs)
assert resumed_sparsity >= target_sparsity - 0.005

# %% [markdown]
# The reloaded models predict exactly the same logits as the model that was saved, and training
# resumed from the saved step until the schedule reached its final sparsity. Without
# `prune_scope`, loading fails because Keras does not know the wrapper class:

# %%
try:
    keras.models.load_model(os.path.join(workdir, "checkpoint.h5"))
    raise AssertionError("loading outside prune_scope should fail")
except ValueError as error:
    print(str(error).splitlines()[0][:160])

# %% [markdown]
# ## Prune in blocks
#
# By default each weight is pruned on its own. With `block_size`, `prune_low_magnitude` pools the
# magnitudes of small blocks of weights (by their average, or their maximum with
# `block_pooling_type="MAX"`) and keeps or zeroes whole blocks. Some sparse kernels run faster
# on such blocks. Block sparsity applies to two-dimensional kernels only, so the next cell prunes
# the dense layer alone, in blocks of four consecutive inputs of one output (`block_size=(4, 1)`
# on a kernel of shape inputs x outputs).


# %%
def prune_dense_in_blocks(layer):
    if isinstance(layer, keras.layers.Dense):
        return tfmot.sparsity.keras.prune_low_magnitude(
            layer,
            pruning_schedule=pruning_schedule(fit_steps(section_epochs)),
            block_size=block_size,
        )
    return layer


block_model = keras.models.clone_model(fresh_baseline(), clone_function=prune_dense_in_blocks)
fine_tune(block_model, section_epochs)
block_kernel = tfmot.sparsity.keras.strip_pruning(block_model).layers[-1].kernel.numpy()
rows, cols = block_size
blocks = (
    block_kernel.reshape(block_kernel.shape[0] // rows, rows, block_kernel.shape[1] // cols, cols)
    .transpose(0, 2, 1, 3)
    .reshape(-1, rows * cols)
)
zeros_per_block = np.sum(blocks == 0, axis=1)
block_sparsity = sparsity([block_kernel])
block_whole_fraction = float(np.mean((zeros_per_block == 0) | (zeros_per_block == rows * cols)))
show_table(
    ["zeros in a block of four", "blocks"],
    [[count, int(np.sum(zeros_per_block == count))] for count in range(rows * cols + 1)],
)
print(
    f"dense kernel {block_kernel.shape}: {block_sparsity:.2%} zeros; "
    f"blocks all zero or all kept: {block_whole_fraction:.2%}"
)
assert block_sparsity >= target_sparsity - 0.005 and block_whole_fraction == 1.0

# %% [markdown]
# Every block of four is either entirely zero or entirely kept, and the kernel as a whole
# reached the target sparsity. Compare with the weight-by-weight kernel of the first section,
# where the zeros fall anywhere.
#
# ## Summary
#
# | you want to | use |
# |---|---|
# | prune every layer TFMOT knows | `prune_low_magnitude(model, pruning_schedule=...)` |
# | prune some layers | `keras.models.clone_model(model, clone_function=...)` wrapping the layers you choose |
# | prune a layer of your own | implement `PrunableLayer.get_prunable_weights` |
# | train | `Model.fit` with `UpdatePruningStep` (and `PruningSummaries` for TensorBoard), or drive `UpdatePruningStep` in your own loop |
# | checkpoint | save with the wrappers; load inside `prune_scope()` |
# | zeros in whole blocks | `block_size` on two-dimensional kernels |
# | ship it | `strip_pruning`, then convert and compress |
