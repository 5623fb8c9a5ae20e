# %% [markdown]
# # Quantization aware training: comprehensive guide

# %% [markdown]
# The end-to-end tutorial quantizes a whole model with the defaults. This guide shows the other
# things you can do with the quantization API of the TensorFlow Model Optimization Toolkit
# (TFMOT), one short section each:
#
# 1. quantize the whole model,
# 2. quantize only some layers,
# 3. quantize a layer your own way with a custom `QuantizeConfig`,
# 4. save a quantization aware model and load it back,
# 5. try fewer than 8 bits for the weights with the experimental n-bit scheme.
#
# Every section checks what it says, with an assertion or with a claim that the test run checks,
# and looks inside the converted TensorFlow Lite file, because what counts is what you ship.
# Training budgets are small so that the guide runs in a few minutes.

# %%
# tutorial-gen: setup

# %% [markdown]
# ## Set up
#
# TFMOT 0.8 works with Keras 2 only: ask TensorFlow for its legacy Keras (the `tf_keras` package)
# before TensorFlow is imported.

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import tempfile

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras
from tensorflow.lite.python import schema_py_generated as tflite_schema
from tensorflow.lite.tools import flatbuffer_utils

print("TensorFlow", tf.__version__, "| tf_keras", keras.__version__, "| TFMOT", tfmot.__version__)

# %% tags=["parameters"]
seed = 42
train_samples = 20000
baseline_epochs = 3
batch_size = 128
qat_train_samples = 10000
qat_epochs = 1
qat_learning_rate = 1e-4
weight_bits = 4  # for the n-bit scheme

# %% [markdown]
# The shared helpers: measuring (`tflite_accuracy`, `show_table`, ...), the data and models
# (`load_fashion_mnist`, `tutorial_cnn`, `compile_for_training`, `keras_accuracy`), conversion
# (`to_tflite`) and reading weights back from a `.tflite` file (`tflite_kernels`,
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
# `tflite_kernels` gives the weights as LiteRT reads them. To see how the file *stores* them
# (float32, int8, or a packed type) you read the tensor types from the flatbuffer, keyed by shape.

# %%
TENSOR_TYPES = {
    value: name for name, value in vars(tflite_schema.TensorType).items() if name.isupper()
}


def stored_kernel_types(tflite_model: bytes) -> dict:
    """The stored type of every constant tensor with two or more dimensions, by shape."""
    flatbuffer = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite_model))
    return {
        tuple(int(d) for d in tensor.shape): TENSOR_TYPES[tensor.type]
        for tensor in flatbuffer.subgraphs[0].tensors
        if flatbuffer.buffers[tensor.buffer].data is not None and len(tensor.shape) >= 2
    }


# %% [markdown]
# ## A trained baseline
#
# Every section starts from the same trained float model: the small CNN of the TFMOT tutorials,
# trained on a part of Fashion-MNIST. `fine_tune` runs the short quantization aware fine-tuning
# each section uses: `qat_epochs` over `qat_train_samples` images with a low learning rate.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="qat_guide_")
(x_train, y_train), (x_test, y_test) = load_fashion_mnist(train_samples)

baseline_model = compile_for_training(tutorial_cnn())
baseline_model.fit(x_train, y_train, batch_size=batch_size, epochs=baseline_epochs, verbose=2)
baseline_tflite = to_tflite(baseline_model, "float")
baseline_tflite_bytes = len(baseline_tflite)
baseline_tflite_accuracy = tflite_accuracy(baseline_tflite, x_test, y_test)
print(f"float baseline: {baseline_tflite_accuracy:.2%}, {baseline_tflite_bytes:,} bytes")

CONV_KERNEL, DENSE_KERNEL = (12, 3, 3, 1), (10, 2028)  # the shapes of the two kernels in TFLite


def copy_of_baseline() -> keras.Model:
    """A fresh copy of the trained baseline, so no section changes the weights of another."""
    copy = keras.models.clone_model(baseline_model)
    copy.set_weights(baseline_model.get_weights())
    return copy


def fine_tune(model: keras.Model) -> keras.Model:
    """Compile and briefly fine-tune a quantization aware model."""
    compile_for_training(model, learning_rate=qat_learning_rate)
    model.fit(
        x_train[:qat_train_samples],
        y_train[:qat_train_samples],
        batch_size=batch_size,
        epochs=qat_epochs,
        verbose=2,
    )
    return model


# %% [markdown]
# ## 1. Quantize the whole model
#
# `quantize_model` wraps every layer with its default 8-bit configuration and puts a
# `QuantizeLayer` in front of the input. After fine-tuning, the converter with `Optimize.DEFAULT`
# writes both kernels as `int8`.

# %%
whole_model = fine_tune(tfmot.quantization.keras.quantize_model(copy_of_baseline()))
whole_tflite = to_tflite(whole_model, "dynamic")
whole_tflite_bytes = len(whole_tflite)
whole_tflite_accuracy = tflite_accuracy(whole_tflite, x_test, y_test)

print([type(layer).__name__ for layer in whole_model.layers])
print(stored_kernel_types(whole_tflite))
assert type(whole_model.layers[0]).__name__ == "QuantizeLayer"
assert all(
    isinstance(layer, tfmot.quantization.keras.QuantizeWrapperV2)
    for layer in whole_model.layers[1:]
)
assert stored_kernel_types(whole_tflite) == {CONV_KERNEL: "INT8", DENSE_KERNEL: "INT8"}

# %% [markdown]
# ## 2. Quantize only some layers
#
# Some layers lose more accuracy than others when quantized; you can leave them in float. Mark the
# layers to quantize with `quantize_annotate_layer` while cloning the model, then call
# `quantize_apply`, which wraps only the marked ones. Clone a copy: `clone_model` with a
# `clone_function` that returns the layers themselves shares them with the model you pass in.
#
# There is a catch in the file you get. A layer's kernel is only stored in 8 bits when the layer
# runs as an integer operation, and for that its *input* must be quantized too. The default
# scheme takes that input range from the layer before: `quantize_apply` wraps it to quantize its
# output only (`OutputOnlyConfig`). Mark only the `Dense` layer and the layer before is a
# `Flatten`, which passes values through and has no range of its own, so the dense input stays
# float and the converter keeps the kernel in float32.


# %%
def quantize_only(model: keras.Model, layer_types: tuple) -> keras.Model:
    """`model` with only the layers of `layer_types` quantization aware."""
    annotated = keras.models.clone_model(
        model,
        clone_function=lambda layer: (
            tfmot.quantization.keras.quantize_annotate_layer(layer)
            if isinstance(layer, layer_types)
            else layer
        ),
    )
    return tfmot.quantization.keras.quantize_apply(annotated)


dense_only_model = fine_tune(quantize_only(copy_of_baseline(), (keras.layers.Dense,)))
dense_only_tflite = to_tflite(dense_only_model, "dynamic")
print("Dense only:", stored_kernel_types(dense_only_tflite))
assert stored_kernel_types(dense_only_tflite)[DENSE_KERNEL] == "FLOAT32"

# %% [markdown]
# Mark the layers from the pooling on (`MaxPooling2D`, `Flatten`, `Dense`). Now the layer before
# them is the convolution, whose ReLU output gets a range: the converter quantizes it once, runs
# pooling and the dense layer in 8 bits, and keeps the convolution itself in float.

# %%
head_types = (keras.layers.MaxPooling2D, keras.layers.Flatten, keras.layers.Dense)
head_model = fine_tune(quantize_only(copy_of_baseline(), head_types))
head_tflite = to_tflite(head_model, "dynamic")
head_tflite_bytes = len(head_tflite)
head_tflite_accuracy = tflite_accuracy(head_tflite, x_test, y_test)

print([f"{type(layer).__name__}:{layer.name}" for layer in head_model.layers])
print("pooling, flatten, dense:", stored_kernel_types(head_tflite))
conv_wrapper = head_model.get_layer("quant_conv2d")  # output only: no weight is rounded
assert type(conv_wrapper.quantize_config).__name__ == "OutputOnlyConfig"
assert conv_wrapper.quantize_config.get_weights_and_quantizers(conv_wrapper.layer) == []
assert stored_kernel_types(head_tflite) == {CONV_KERNEL: "FLOAT32", DENSE_KERNEL: "INT8"}

layer_rows = [
    ("none (float baseline)", baseline_tflite),
    ("Dense only", dense_only_tflite),
    ("pooling, flatten, dense", head_tflite),
    ("all", whole_tflite),
]
show_table(
    ["layers quantized", "conv kernel", "dense kernel", ".tflite bytes", "LiteRT accuracy"],
    [
        [
            name,
            stored_kernel_types(model)[CONV_KERNEL],
            stored_kernel_types(model)[DENSE_KERNEL],
            f"{len(model):,}",
            f"{tflite_accuracy(model, x_test, y_test):.2%}",
        ]
        for name, model in layer_rows
    ],
)

# %% [markdown]
# With the dense layer in 8 bits the file is almost as small as the fully quantized one: nearly
# all the weights of this model are in that layer.
#
# ## 3. A custom `QuantizeConfig`
#
# A `QuantizeConfig` tells a wrapper what to quantize in its layer and how. Here is one for a
# `Dense` layer that rounds the kernel to 4-bit levels, symmetric around zero with a single range
# for the whole tensor, and leaves the layer's activations in float. Any layer can take a
# config, including your own layer classes, which have no default one.
#
# Give the config to `quantize_annotate_layer`, and call `quantize_apply` inside
# `quantize_scope`, which tells Keras about your class when it clones the model. The other layers
# keep their default configurations.

# %%
LastValueQuantizer = tfmot.quantization.keras.quantizers.LastValueQuantizer


class Kernel4BitConfig(tfmot.quantization.keras.QuantizeConfig):
    """Quantize a Dense kernel to 4 bits (symmetric, per tensor); leave activations in float."""

    def get_weights_and_quantizers(self, layer):
        return [
            (
                layer.kernel,
                LastValueQuantizer(num_bits=4, per_axis=False, symmetric=True, narrow_range=False),
            )
        ]

    def get_activations_and_quantizers(self, layer):
        return []

    def set_quantize_weights(self, layer, quantize_weights):
        layer.kernel = quantize_weights[0]

    def set_quantize_activations(self, layer, quantize_activations):
        pass

    def get_output_quantizers(self, layer):
        return []

    def get_config(self):
        return {}


def annotate_with_custom_dense(layer):
    if isinstance(layer, keras.layers.Dense):
        return tfmot.quantization.keras.quantize_annotate_layer(
            layer, quantize_config=Kernel4BitConfig()
        )
    return tfmot.quantization.keras.quantize_annotate_layer(layer)


custom_objects = {"Kernel4BitConfig": Kernel4BitConfig}
with tfmot.quantization.keras.quantize_scope(custom_objects):
    custom_model = tfmot.quantization.keras.quantize_apply(
        keras.models.clone_model(copy_of_baseline(), clone_function=annotate_with_custom_dense)
    )
fine_tune(custom_model)

# %% [markdown]
# The dense wrapper now holds only the kernel's range, no activation range. Rounded with that
# range to 4 bits, the kernel the layer computes with takes no more than 16 distinct values.

# %%
dense_wrapper = custom_model.get_layer("quant_dense")
variables = {v.name.split("/")[-1].split(":")[0]: v for v in dense_wrapper.weights}
print(sorted(variables))
assert isinstance(dense_wrapper.quantize_config, Kernel4BitConfig)
assert not any("post_activation" in name for name in variables)

rounded_kernel = tf.quantization.fake_quant_with_min_max_vars(
    variables["kernel"], variables["kernel_min"], variables["kernel_max"], num_bits=4
)
custom_kernel_levels = unique_values(rounded_kernel.numpy())
custom_accuracy = keras_accuracy(custom_model, x_test, y_test)
print(f"distinct kernel values: {custom_kernel_levels}; Keras accuracy {custom_accuracy:.2%}")

# %% [markdown]
# What does the converter make of it? Without quantized activations the dense layer cannot run in
# integers, so the file keeps its kernel in float32, already rounded to those few values. That
# still pays off once the file is compressed, but the model runs float kernels.

# %%
custom_tflite = to_tflite(custom_model, "dynamic")
custom_tflite_kernels = {k.shape: k for k in tflite_kernels(custom_tflite).values()}
print(stored_kernel_types(custom_tflite))
assert stored_kernel_types(custom_tflite)[DENSE_KERNEL] == "FLOAT32"
assert unique_values(custom_tflite_kernels[DENSE_KERNEL]) <= 16

# %% [markdown]
# ## 4. Save and restore a quantization aware model
#
# A QAT model holds TFMOT classes (`QuantizeLayer`, `QuantizeWrapperV2`, quantizers, configs).
# Loading it needs them in scope, or Keras fails with "Unknown layer". Open
# `quantize_scope()`, adding any custom config class, and the restored model predicts exactly
# what the saved one did, so you can resume training or convert it later.

# %%
whole_h5 = os.path.join(workdir, "qat_model.h5")
whole_model.save(whole_h5)

try:
    keras.models.load_model(whole_h5)
    raise AssertionError("loading a QAT model without quantize_scope should fail")
except ValueError as error:
    print("without quantize_scope:", str(error).splitlines()[0])

with tfmot.quantization.keras.quantize_scope():
    restored_model = keras.models.load_model(whole_h5)
assert np.array_equal(
    restored_model.predict(x_test, verbose=0), whole_model.predict(x_test, verbose=0)
)

custom_h5 = os.path.join(workdir, "custom_model.h5")
custom_model.save(custom_h5)
with tfmot.quantization.keras.quantize_scope(custom_objects):
    restored_custom = keras.models.load_model(custom_h5)
assert np.array_equal(
    restored_custom.predict(x_test, verbose=0), custom_model.predict(x_test, verbose=0)
)
print("restored .h5 models predict exactly what the saved ones did")

# %% [markdown]
# To keep only the weights (a training checkpoint), save them and load them into a model built
# the same way: quantize a fresh, untrained copy of the architecture, then load. The checkpoint
# holds the learned quantization ranges too.

# %%
checkpoint = os.path.join(workdir, "qat.weights.h5")
whole_model.save_weights(checkpoint)

rebuilt_model = tfmot.quantization.keras.quantize_model(tutorial_cnn())
rebuilt_model.load_weights(checkpoint)
assert np.array_equal(
    rebuilt_model.predict(x_test, verbose=0), whole_model.predict(x_test, verbose=0)
)
print("weights restored into a freshly quantized model: identical predictions")

# %% [markdown]
# ## 5. Fewer bits: the experimental n-bit scheme
#
# `quantize_apply` takes a quantize *scheme*, the set of configurations for every layer type.
# `DefaultNBitQuantizeScheme` from `tfmot.quantization.keras.experimental.default_n_bit` is the
# default scheme with the number of bits as parameters. You keep 8-bit activations and round the
# weights to `weight_bits` bits.

# %%
from tensorflow_model_optimization.quantization.keras.experimental.default_n_bit import (
    DefaultNBitQuantizeScheme,
)

nbit_scheme = DefaultNBitQuantizeScheme(num_bits_weight=weight_bits, num_bits_activation=8)
nbit_model = fine_tune(
    tfmot.quantization.keras.quantize_apply(
        tfmot.quantization.keras.quantize_annotate_model(copy_of_baseline()), scheme=nbit_scheme
    )
)
nbit_tflite = to_tflite(nbit_model, "dynamic")
nbit_tflite_bytes = len(nbit_tflite)
nbit_tflite_accuracy = tflite_accuracy(nbit_tflite, x_test, y_test)
nbit_kernel_levels = max(unique_values(k) for k in tflite_kernels(nbit_tflite).values())
nbit_stored_types = stored_kernel_types(nbit_tflite)
print(nbit_stored_types)

show_table(
    [
        "weights",
        "stored as (dense kernel)",
        "distinct values per kernel (max)",
        ".tflite bytes",
        "LiteRT accuracy",
    ],
    [
        [
            "float baseline",
            stored_kernel_types(baseline_tflite)[DENSE_KERNEL],
            "",
            f"{baseline_tflite_bytes:,}",
            f"{baseline_tflite_accuracy:.2%}",
        ],
        [
            "8 bits (default scheme)",
            stored_kernel_types(whole_tflite)[DENSE_KERNEL],
            max(unique_values(k) for k in tflite_kernels(whole_tflite).values()),
            f"{whole_tflite_bytes:,}",
            f"{whole_tflite_accuracy:.2%}",
        ],
        [
            f"{weight_bits} bits (n-bit scheme)",
            nbit_stored_types[DENSE_KERNEL],
            nbit_kernel_levels,
            f"{nbit_tflite_bytes:,}",
            f"{nbit_tflite_accuracy:.2%}",
        ],
    ],
)
assert nbit_stored_types[DENSE_KERNEL] == ("INT4" if weight_bits == 4 else "INT8")

# %% [markdown]
# With 4-bit weights every kernel in the file holds at most 16 distinct values. The converter of
# TensorFlow 2.21 does more than round: it stores the dense kernel as `INT4`, two weights per
# byte, so the whole file is 1.5x smaller than the 8-bit file, and LiteRT runs it. The 4-bit
# convolution kernel is packed the same way. Whether 4-bit weights are packed or kept in `int8`
# depends on the converter, so check the stored type with your own version, as above.
#
# Accuracy: the 4-bit model stays within 1 point of the 8-bit model on this task, after the
# same short fine-tuning. Fewer bits leave less room, so expect larger losses on bigger models
# and at 2 or 3 bits. Keep in mind that the scheme is experimental: the TFMOT documentation says
# that changing the number of bits has no supported path to deployment, and not every runtime
# has 4-bit kernels.
#
# ## Summary
#
# * `quantize_model` quantizes everything; `quantize_annotate_layer` plus `quantize_apply`
#   quantizes what you mark, and a layer is stored in 8 bits only when its inputs are quantized.
# * A custom `QuantizeConfig` decides what a wrapper rounds and how; use it under
#   `quantize_scope`, and keep the scope for loading.
# * Saved QAT models and weights restore exactly under `quantize_scope`.
# * The experimental n-bit scheme trains with fewer bits, and current converters store 4-bit
#   weights packed.
