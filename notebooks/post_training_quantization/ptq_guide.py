# %% [markdown]
# # Post-training quantization: the comprehensive guide

# %% [markdown]
# The tutorial of this technique walks through the three common modes of post-training
# quantization once. This guide is the reference: one short section per thing you
# may need to do, each with the converter settings, a look inside the converted file, and a
# check that the result is what the section says.
#
# You will:
#
# * quantize weights only, to 8-bit integers (dynamic range) or to float16;
# * quantize weights and activations to 8 bits, either keeping float input and output (float
#   fallback) or making the model integer-only, and check which one you got;
# * see what happens to an operation that has no integer kernel;
# * try the 16x8 mode, with 16-bit activations and 8-bit weights;
# * measure how many representative images the calibration needs.
#
# All conversions use `tf.lite.TFLiteConverter.from_keras_model` and all models run in the
# LiteRT interpreter.

# %%
# tutorial-gen: setup

# %% [markdown]
# ## Set up

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import contextlib
import io
import re
import tempfile
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
import tf_keras as keras
from ai_edge_litert.interpreter import Interpreter

print("TensorFlow", tf.__version__, "| tf_keras", keras.__version__)

# %% tags=["parameters"]
seed = 42
epochs = 4
train_samples = 60000  # size of the training subset (60000: all of Fashion-MNIST)
batch_size = 128
representative_samples = 100  # calibration images for the full integer sections
calibration_sizes = [1, 10, 100]  # representative dataset sizes compared in the last section
calibration_draws = 3  # random draws of the calibration images per size
latency_budget_s = 30  # seconds at most for timing int8 against 16x8

# %% [markdown]
# The shared helpers of this series: measuring (`file_size`, `tflite_accuracy`,
# `tflite_predict`, `tflite_latency`, `show_table`), the dataset and models (`load_fashion_mnist`,
# `tutorial_cnn`, `separable_cnn`, `compile_for_training`), conversion (`to_tflite`, used here only
# for the float baseline, and `save_bytes`) and `tflite_kernels`, which reads the weight tensors
# back out of a `.tflite` file.

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include models

# %%
# tutorial-gen: include convert

# %%
# tutorial-gen: include weights

# %% [markdown]
# Three small functions of our own look inside a converted model: the types of its input and
# output, the count of its tensors by type, and its list of operations (from the TFLite model
# analyzer, `tf.lite.experimental.Analyzer`).


# %%
def io_types(tflite_model):
    """The dtypes of a model's input and output, as names: ('float32', 'float32')."""
    interpreter = Interpreter(model_content=tflite_model)
    return (
        np.dtype(interpreter.get_input_details()[0]["dtype"]).name,
        np.dtype(interpreter.get_output_details()[0]["dtype"]).name,
    )


def tensor_types(tflite_model):
    """How many tensors of each dtype the model holds: Counter({'int8': 8, 'int32': 10})."""
    interpreter = Interpreter(model_content=tflite_model)
    return Counter(np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details())


def op_names(tflite_model, show=False):
    """The model's operations in execution order, read from the model analyzer's report."""
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        tf.lite.experimental.Analyzer.analyze(model_content=tflite_model)
    if show:
        print(report.getvalue().split("Tensors of Subgraph")[0])
    return re.findall(r"Op#\d+ (\w+)\(", report.getvalue())


def representative_dataset(images):
    """A representative dataset for the converter: yields one image (batch of one) at a time."""

    def generator():
        for image in images:
            yield [image[np.newaxis, ...].astype(np.float32)]

    return generator


# %% [markdown]
# ## A float model to start from
#
# Every section converts the same trained model, the small CNN of the TensorFlow Model
# Optimization tutorials, and compares it with its float `.tflite` conversion.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="ptq_guide_")
(x_train, y_train), (x_test, y_test) = load_fashion_mnist(train_samples)
calibration_images = x_train[:representative_samples]

model = compile_for_training(tutorial_cnn())
model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=2)

float_tflite = to_tflite(model, "float")
float_tflite_bytes = file_size(save_bytes(float_tflite, workdir, "float.tflite"))
float_tflite_accuracy = tflite_accuracy(float_tflite, x_test, y_test)
print(
    f"float .tflite: {float_tflite_bytes:,} bytes, accuracy {float_tflite_accuracy:.2%}, "
    f"input/output {io_types(float_tflite)}"
)

# %% [markdown]
# ## Dynamic range quantization: 8-bit weights
#
# One setting. The weights are stored as int8 with a scale per tensor (per output channel for
# convolutions); activations stay float, and so do the input and output. One detail: the
# converter leaves weight tensors with fewer than 1024 values in float, since quantizing them
# saves little.

# %%
converter = tf.lite.TFLiteConverter.from_keras_model(model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
dynamic_tflite = converter.convert()

dynamic_tflite_bytes = file_size(save_bytes(dynamic_tflite, workdir, "dynamic.tflite"))
dynamic_tflite_accuracy = tflite_accuracy(dynamic_tflite, x_test, y_test)
dynamic_kernels = tflite_kernels(dynamic_tflite)
show_table(
    ["weight tensor", "shape", "stored as"],
    [[name, kernel.shape, kernel.dtype.name] for name, kernel in dynamic_kernels.items()],
)
assert all(
    kernel.dtype == (np.int8 if kernel.size >= 1024 else np.float32)
    for kernel in dynamic_kernels.values()
)
assert io_types(dynamic_tflite) == ("float32", "float32")
print(f"{dynamic_tflite_bytes:,} bytes, accuracy {dynamic_tflite_accuracy:.2%}")

# %% [markdown]
# The dense kernel is int8; the tiny convolution kernel stayed float32, as expected. The input
# and output are float32, and the model stays within 1 point of the float model's accuracy
# (dynamic range).
#
# ## Float16 quantization: 16-bit float weights
#
# Add `supported_types = [tf.float16]`. The weights are stored as float16 and a `DEQUANTIZE`
# operation turns each back into float32 when the model is prepared, unless a GPU delegate
# takes them as they are.

# %%
converter = tf.lite.TFLiteConverter.from_keras_model(model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
converter.target_spec.supported_types = [tf.float16]
float16_tflite = converter.convert()

float16_tflite_bytes = file_size(save_bytes(float16_tflite, workdir, "float16.tflite"))
float16_tflite_accuracy = tflite_accuracy(float16_tflite, x_test, y_test)
float16_kernels = tflite_kernels(float16_tflite)
float16_ops = op_names(float16_tflite)
print("operations:", float16_ops)
assert all(kernel.dtype == np.float16 for kernel in float16_kernels.values())
assert "DEQUANTIZE" in float16_ops
assert io_types(float16_tflite) == ("float32", "float32")
print(f"{float16_tflite_bytes:,} bytes, accuracy {float16_tflite_accuracy:.2%}")

# %% [markdown]
# The weights are float16 and the accuracy stays within 1 point of the float model (float16).
#
# ## Full integer quantization with float fallback
#
# Give the converter a representative dataset and it also quantizes the activations, using the
# ranges it records while running the float model on those images. With no other setting, the
# model keeps float32 input and output: a `QUANTIZE` operation at the start and a `DEQUANTIZE`
# at the end convert them, and any operation without an integer kernel would stay in float.
# You call it like the float model.

# %%
converter = tf.lite.TFLiteConverter.from_keras_model(model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
converter.representative_dataset = representative_dataset(calibration_images)
fallback_tflite = converter.convert()

fallback_ops = op_names(fallback_tflite)
fallback_tflite_accuracy = tflite_accuracy(fallback_tflite, x_test, y_test)
print("input/output:", io_types(fallback_tflite))
print("operations:", fallback_ops)
print("tensors by type:", dict(tensor_types(fallback_tflite)))
assert io_types(fallback_tflite) == ("float32", "float32")
assert fallback_ops[0] == "QUANTIZE" and fallback_ops[-1] == "DEQUANTIZE"
assert tensor_types(fallback_tflite)["int8"] > 0
print(f"accuracy {fallback_tflite_accuracy:.2%}")

# %% [markdown]
# The float fallback model stays within 1 point of the float model.
#
# ## Integer-only: int8 input and output
#
# For hardware that runs integers only (microcontrollers, the Edge TPU), restrict the
# operation set to integer kernels and make the input and output int8 as well. Then check: the
# interpreter's input and output details give each tensor's dtype and its quantization
# parameters, `(scale, zero_point)`.

# %%
converter = tf.lite.TFLiteConverter.from_keras_model(model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
converter.representative_dataset = representative_dataset(calibration_images)
converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
converter.inference_input_type = tf.int8
converter.inference_output_type = tf.int8
integer_only_tflite = converter.convert()

interpreter = Interpreter(model_content=integer_only_tflite)
interpreter.allocate_tensors()
input_details = interpreter.get_input_details()[0]
output_details = interpreter.get_output_details()[0]
for role, details in [("input", input_details), ("output", output_details)]:
    print(
        f"{role}: dtype {np.dtype(details['dtype']).name}, shape {details['shape']}, "
        f"(scale, zero_point) {details['quantization']}"
    )
print("tensors by type:", dict(tensor_types(integer_only_tflite)))
assert io_types(integer_only_tflite) == ("int8", "int8")
assert tensor_types(integer_only_tflite)["float32"] == 0

# %% [markdown]
# No tensor of this model is float32 (the int32 ones are shapes and biases). To run it, quantize
# the input with its scale and zero point and dequantize the output. For one test image, by
# hand:

# %%
scale, zero_point = input_details["quantization"]
image = x_test[:1]
quantized_image = np.clip(np.round(image / scale + zero_point), -128, 127).astype(np.int8)
interpreter.set_tensor(input_details["index"], quantized_image)
interpreter.invoke()
out_scale, out_zero_point = output_details["quantization"]
logits = (
    interpreter.get_tensor(output_details["index"]).astype(np.float32) - out_zero_point
) * out_scale
print("logits:", np.round(logits, 2))
print("predicted class:", CLASS_NAMES[int(np.argmax(logits))], "| label:", CLASS_NAMES[y_test[0]])
assert int(np.argmax(logits)) == tflite_predict(integer_only_tflite, image)[0]

integer_only_tflite_bytes = file_size(save_bytes(integer_only_tflite, workdir, "int8.tflite"))
integer_only_tflite_accuracy = tflite_accuracy(integer_only_tflite, x_test, y_test)
print(f"{integer_only_tflite_bytes:,} bytes, accuracy {integer_only_tflite_accuracy:.2%}")

# %% [markdown]
# The integer-only model stays within 1 point of the float model, like the fallback one. (Our
# `tflite_accuracy` helper does the same quantizing and dequantizing for every image.)
#
# ## An operation without an integer kernel
#
# What if the model contains an operation that LiteRT cannot run in int8? Here is a small,
# untrained model (only its structure matters here) with a sine activation: the `SIN` kernel of
# LiteRT takes float only. The next cell converts it with the integer-only settings of the previous section.

# %%
sine_model = keras.Sequential(
    [
        keras.layers.InputLayer(input_shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(32),
        keras.layers.Lambda(tf.math.sin),
        keras.layers.Dense(10),
    ],
    name="sine_model",
)

converter = tf.lite.TFLiteConverter.from_keras_model(sine_model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
converter.representative_dataset = representative_dataset(calibration_images)
converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
converter.inference_input_type = tf.int8
converter.inference_output_type = tf.int8
sine_tflite = converter.convert()

sine_ops = op_names(sine_tflite, show=True)
print("input/output:", io_types(sine_tflite), "| tensors by type:", dict(tensor_types(sine_tflite)))
assert io_types(sine_tflite) == ("int8", "int8")
assert "SIN" in sine_ops and tensor_types(sine_tflite)["float32"] > 0

# %% [markdown]
# With the converter of this guide's TensorFlow version, the conversion succeeds: the input and
# output are int8 as requested, but the model dequantizes to float32 around `SIN`, so it is not
# integer-only and an integer-only accelerator cannot run it whole. The input and output types
# alone do not tell you that; the tensor types and the list of operations do. Check them for
# every model you convert for integer-only hardware.
#
# ## 16x8 quantization: 16-bit activations, 8-bit weights
#
# When 8-bit activations cost too much accuracy, the 16x8 mode keeps the weights in int8 but
# quantizes activations to int16. It is still experimental, and it is selected through its own
# operation set. Input and output stay float32 unless you ask for int16.

# %%
int16x8_tflite = None
try:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset(calibration_images)
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
    ]
    int16x8_tflite = converter.convert()
    int16x8_tflite_accuracy = tflite_accuracy(int16x8_tflite, x_test, y_test)
    latency = compare_latency(
        {"int8": integer_only_tflite, "int16x8": int16x8_tflite},
        sample=x_test[0],
        budget_s=latency_budget_s,
    )
    int16x8_latency_ms = latency["int16x8"]["median_ms"]
    int16x8_latency_ms_samples = latency["int16x8"]["rounds_ms"]
    int8_latency_ms = latency["int8"]["median_ms"]
    int8_latency_ms_samples = latency["int8"]["rounds_ms"]
except Exception as error:  # the mode is experimental: report, do not fail the guide
    int16x8_tflite_accuracy = None
    int16x8_tflite_accuracy_unmeasured_reason = f"16x8 conversion or inference failed here: {error}"
    int16x8_latency_ms = None
    int16x8_latency_ms_unmeasured_reason = int16x8_tflite_accuracy_unmeasured_reason
    print(int16x8_tflite_accuracy_unmeasured_reason)
    int8_latency_ms = tflite_latency(integer_only_tflite, x_test[0])["median_ms"]

if int16x8_tflite is not None:
    print("input/output:", io_types(int16x8_tflite))
    print("tensors by type:", dict(tensor_types(int16x8_tflite)))
    assert tensor_types(int16x8_tflite)["int16"] > 0
    show_table(
        ["model", "LiteRT accuracy"],
        [
            ["int8 (integer-only)", f"{integer_only_tflite_accuracy:.2%}"],
            ["16x8", f"{int16x8_tflite_accuracy:.2%}"],
        ],
    )
    show_latency(
        latency, baseline="int8", labels={"int8": "int8 (integer-only)", "int16x8": "16x8"}
    )

# %% [markdown]
# LiteRT runs the 16x8 model here: its activations are int16 tensors and it stays within 1
# point of the float model (16x8). It is much slower, though: the 16x8 model ran several times
# slower than the int8 model on this CPU, because LiteRT has optimized int8 kernels but only
# reference kernels for most 16x8 operations. Use the mode where accuracy matters more than
# speed, or where a delegate supports it.
#
# ## How many representative images?
#
# Calibration only has to see the range of values each activation takes, so it needs few
# images, but not too few. The next cells train the separable CNN of this series, a deeper network than the
# one above, and quantize it to full integer with calibration sets of different sizes, each
# drawn at random from the training images several times.

# %%
keras.utils.set_random_seed(seed)
separable_model = compile_for_training(separable_cnn())
separable_model.fit(
    x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=2
)
separable_float_accuracy = tflite_accuracy(to_tflite(separable_model, "float"), x_test, y_test)

rng = np.random.default_rng(seed)
calibration_accuracy = {}
for size in calibration_sizes:
    calibration_accuracy[size] = []
    for _ in range(calibration_draws):
        images = x_train[rng.choice(len(x_train), size=size, replace=False)]
        quantized = to_tflite(
            separable_model, "int8", representative=images, representative_samples=size
        )
        calibration_accuracy[size].append(tflite_accuracy(quantized, x_test, y_test))

show_table(
    ["calibration images", "worst draw", "mean", "best draw", "worst vs float"],
    [
        [
            size,
            f"{min(accs):.2%}",
            f"{np.mean(accs):.2%}",
            f"{max(accs):.2%}",
            f"{100 * (min(accs) - separable_float_accuracy):+.2f} points",
        ]
        for size, accs in calibration_accuracy.items()
    ]
    + [["float model", "", f"{separable_float_accuracy:.2%}", "", ""]],
)

# %%
if 1 in calibration_accuracy:
    calibration_1_max_drop = separable_float_accuracy - min(calibration_accuracy[1])
else:
    calibration_1_max_drop = None
    calibration_1_max_drop_unmeasured_reason = "calibration_sizes does not include 1"
if 100 in calibration_accuracy:
    calibration_100_max_gap = max(
        abs(a - separable_float_accuracy) for a in calibration_accuracy[100]
    )
else:
    calibration_100_max_gap = None
    calibration_100_max_gap_unmeasured_reason = "calibration_sizes does not include 100"

fig, ax = plt.subplots(figsize=(6.4, 3.8))
for size, accs in calibration_accuracy.items():
    ax.scatter([size] * len(accs), [100 * a for a in accs], color="#1f77b4")
ax.plot(
    list(calibration_accuracy),
    [100 * np.mean(a) for a in calibration_accuracy.values()],
    color="#1f77b4",
    label="int8, mean of the draws",
)
ax.axhline(100 * separable_float_accuracy, color="#7f7f7f", linestyle="--", label="float model")
ax.set_xscale("log")
ax.set_xticks(list(calibration_accuracy), [str(s) for s in calibration_accuracy])
ax.set_xlabel("representative images used for calibration (log scale)")
ax.set_ylabel("LiteRT test accuracy (%)")
ax.set_title("Separable CNN, full integer: calibration set size")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# Calibrating on a single image is a gamble: in our run a single calibration image cost more
# than 1 point of accuracy in the worst draw, because the ranges recorded from one picture clip
# the activations of others. With 100 images every draw stayed within 1 point of the float
# model. The TFLite documentation suggests a small subset of around 100 to 500 samples of the
# training or validation data (a published recommendation); pick images that cover your classes
# and conditions. The converter runs the float model on each, so more only costs conversion
# time.
#
# ## Summary
#
# | you want | converter settings | input / output |
# |---|---|---|
# | smaller weights, no data needed | `optimizations = [Optimize.DEFAULT]` | float32 |
# | half-size weights, GPU | add `target_spec.supported_types = [tf.float16]` | float32 |
# | integer compute, float interface | add `representative_dataset` | float32 |
# | integer-only hardware | add `supported_ops = [TFLITE_BUILTINS_INT8]`, `inference_input_type` and `inference_output_type = tf.int8` | int8 |
# | more activation precision | `representative_dataset` and `supported_ops = [EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]` | float32 |
#
# Whatever you choose, check the converted file: the input and output details, the tensor
# types and the operations, and its accuracy in LiteRT on your test set.

# %%
summary = [
    ("float", float_tflite, float_tflite_accuracy),
    ("dynamic range", dynamic_tflite, dynamic_tflite_accuracy),
    ("float16", float16_tflite, float16_tflite_accuracy),
    ("full integer, float fallback", fallback_tflite, fallback_tflite_accuracy),
    ("full integer, integer-only", integer_only_tflite, integer_only_tflite_accuracy),
]
if int16x8_tflite is not None:
    summary.append(("16x8", int16x8_tflite, int16x8_tflite_accuracy))
show_table(
    ["model", ".tflite bytes", "accuracy", "input / output"],
    [
        [name, f"{len(tflite_model):,}", f"{accuracy:.2%}", " / ".join(io_types(tflite_model))]
        for name, tflite_model, accuracy in summary
    ],
)
