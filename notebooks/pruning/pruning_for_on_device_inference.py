# %% [markdown]
# # Prune for on-device inference with XNNPACK

# %% [markdown]
# Pruning usually buys a smaller download, not speed: the zeros stay in dense matrices and the
# CPU multiplies them like any other number. XNNPACK, the CPU backend of LiteRT (TensorFlow
# Lite), is an exception. For a family of mobile convolutional networks it has sparse kernels
# that skip the zeros of pruned 1x1 convolutions, provided the model is pruned and converted in
# a particular way.
#
# In this tutorial you will:
#
# 1. build a small MobileNet-style classifier for Fashion-MNIST with the shape XNNPACK's sparse
#    inference asks for, and see which models TFMOT's `PruneForLatencyOnXNNPack` policy turns
#    down and why,
# 2. prune its 1x1 convolutions to 75% sparsity with that policy,
# 3. convert it with `tf.lite.Optimize.EXPERIMENTAL_SPARSITY`, which stores the pruned kernels
#    in a sparse format, and look inside the file,
# 4. time the dense and the sparse model with the LiteRT interpreter, and find out whether the
#    sparse kernels run on your CPU.
#
# You get a model file that stores its pruned kernels compactly, an accuracy comparison, and an
# honest answer about speed on the machine you run on.

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
import platform
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from tensorflow.lite.python import schema_py_generated as tflite_schema
from tensorflow.lite.tools import flatbuffer_utils

print("TensorFlow", tf.__version__, "| tf_keras", keras.__version__, "| TFMOT", tfmot.__version__)

# %% [markdown]
# The parameters of the run. Lower `train_samples` and the epochs for a quick try.

# %% tags=["parameters"]
seed = 42
train_samples = 60000  # all of Fashion-MNIST
batch_size = 128
baseline_epochs = 3
pruning_epochs = 2
final_sparsity = 0.75
latency_runs = 100  # timed runs of each model per round
latency_budget_s = 60  # seconds at most for timing the models against each other

# %% [markdown]
# The helpers: `measure` (sizes, LiteRT accuracy and latency, sparsity, tables), `models`
# (data, compile and accuracy helpers) and `convert` (Keras to `.tflite`, saving bytes).

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include models

# %%
# tutorial-gen: include convert

# %% [markdown]
# ## What XNNPACK's sparse inference asks of a model
#
# XNNPACK runs a part of a model with sparse kernels only if that part has the shape of the
# networks in the Fast Sparse ConvNets paper. In short, as the XNNPACK documentation lists it:
#
# * it starts with a 3x3 convolution with stride 2, padding 1 on each side and **3 input
#   channels**, an RGB image;
# * it ends with a global average pooling (a `MEAN` over the spatial axes);
# * in between, it holds only 1x1 convolutions, 3x3 or 5x5 depthwise convolutions, and simple
#   element-wise operations such as ReLU, addition or multiplication;
# * its 1x1 convolutions are mostly zeros (at least two thirds of their weights, all together),
#   and stored in the sparse format of the `.tflite` schema.
#
# TFMOT's `PruneForLatencyOnXNNPack` policy checks the first three points in Keras before it
# prunes anything, and then prunes only the 1x1 convolutions. In Keras, "padding 1 on each side"
# means a `ZeroPadding2D(1)` layer followed by a convolution with `padding="valid"`.
#
# Fashion-MNIST images are grayscale, so the model below takes them as RGB images with the gray
# value in all three channels.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="pruning_xnnpack_")
(x_train_gray, y_train), (x_test_gray, y_test) = load_fashion_mnist(train_samples)


def to_rgb(images):
    """Grayscale images (n, 28, 28) as RGB images (n, 28, 28, 3)."""
    return np.repeat(images[..., np.newaxis], 3, axis=-1)


x_train, x_test = to_rgb(x_train_gray), to_rgb(x_test_gray)
print(f"training images: {x_train.shape}, test images: {x_test.shape}")


def sparse_mobilenet(input_channels=3, stem_padding="zero_padding", extra_layer=None):
    """A small MobileNet-style classifier; the arguments break it in the ways shown below."""
    layers = keras.layers

    def bn_relu():
        return [layers.BatchNormalization(momentum=0.9), layers.ReLU()]

    if stem_padding == "zero_padding":
        stem = [layers.ZeroPadding2D(1), layers.Conv2D(16, 3, strides=2, padding="valid")]
    else:
        stem = [layers.Conv2D(16, 3, strides=2, padding="same")]
    return keras.Sequential(
        [
            layers.InputLayer(input_shape=(28, 28, input_channels)),
            *stem,
            *bn_relu(),
            layers.DepthwiseConv2D(3, padding="same"),
            *bn_relu(),
            layers.Conv2D(32, 1),
            *bn_relu(),
            layers.ZeroPadding2D(1),
            layers.DepthwiseConv2D(3, strides=2, padding="valid"),
            *bn_relu(),
            layers.Conv2D(64, 1),
            *bn_relu(),
            *([extra_layer] if extra_layer is not None else []),
            layers.DepthwiseConv2D(3, padding="same"),
            *bn_relu(),
            layers.Conv2D(128, 1),
            *bn_relu(),
            layers.GlobalAveragePooling2D(keepdims=True),
            layers.Flatten(),
            layers.Dense(10),
        ],
        name="sparse_mobilenet",
    )


# %% [markdown]
# Before training anything, ask the policy about a few models: the tutorial CNN of the other
# pruning notebooks, three variants of the MobileNet-style model that each break one rule, and
# the model itself.

# %%
candidates = [
    ("tutorial CNN (models snippet)", tutorial_cnn),
    ("grayscale input: first convolution sees 1 channel", lambda: sparse_mobilenet(1)),
    (
        'first convolution with padding="same", no ZeroPadding2D',
        lambda: sparse_mobilenet(stem_padding="same"),
    ),
    (
        "a MaxPooling2D between the convolutions",
        lambda: sparse_mobilenet(extra_layer=keras.layers.MaxPooling2D(1)),
    ),
    ("the MobileNet-style model of this tutorial", sparse_mobilenet),
]
verdicts = []
for description, build in candidates:
    try:
        tfmot.sparsity.keras.prune_low_magnitude(
            build(), pruning_policy=tfmot.sparsity.keras.PruneForLatencyOnXNNPack()
        )
        verdicts.append((description, "accepted"))
    except ValueError as error:
        verdicts.append((description, f"rejected: {str(error).splitlines()[0]}"))
show_table(["model", "PruneForLatencyOnXNNPack"], verdicts)
rejected_models = sum(verdict.startswith("rejected") for _, verdict in verdicts)
assert rejected_models == len(candidates) - 1 and verdicts[-1][1] == "accepted"

# %% [markdown]
# The policy rejects all four other models and accepts the MobileNet-style one. Its messages are
# terse: the first three models get the same one, that no suitable stem was found, whether the
# model is a different kind of network, its input has one channel, or the padding is built into
# the convolution. Only the fourth message names the layer at fault.
# The issues filed about this policy ([#735](https://github.com/tensorflow/model-optimization/issues/735),
# [#837](https://github.com/tensorflow/model-optimization/issues/837)) are mostly about these
# first layers.
#
# ## Train the dense baseline
#
# A few epochs on Fashion-MNIST. The baseline is saved before pruning, because
# `prune_low_magnitude` wraps the layers of the model it is given.

# %%
keras.utils.set_random_seed(seed)
baseline_model = compile_for_training(sparse_mobilenet())
baseline_model.summary()
baseline_model.fit(
    x_train, y_train, batch_size=batch_size, epochs=baseline_epochs, validation_split=0.1, verbose=2
)
baseline_accuracy = keras_accuracy(baseline_model, x_test, y_test)
dense_tflite = to_tflite(baseline_model, "float")
dense_path = save_bytes(dense_tflite, workdir, "dense.tflite")
print(f"baseline accuracy: {baseline_accuracy:.2%}")

# %% [markdown]
# ## Prune with the XNNPACK policy
#
# Pass `pruning_policy=PruneForLatencyOnXNNPack()` to `prune_low_magnitude`. The schedule raises
# the sparsity of the 1x1 convolutions from a quarter of the weights to `final_sparsity` over the fine-tuning, above
# the two thirds that XNNPACK requires.

# %%
steps = math.ceil(int(len(x_train) * 0.9) / batch_size) * pruning_epochs
frequency = max(1, steps // 20)
pruned_model = tfmot.sparsity.keras.prune_low_magnitude(
    baseline_model,
    pruning_schedule=tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.25,
        final_sparsity=final_sparsity,
        begin_step=0,
        end_step=(steps // frequency) * frequency,
        frequency=frequency,
    ),
    pruning_policy=tfmot.sparsity.keras.PruneForLatencyOnXNNPack(),
)
compile_for_training(pruned_model)
pruned_model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=pruning_epochs,
    validation_split=0.1,
    verbose=2,
    callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
)
pruned_accuracy = keras_accuracy(pruned_model, x_test, y_test)
stripped_model = tfmot.sparsity.keras.strip_pruning(pruned_model)

kernel_rows = []
pointwise, others = [], []
for layer in stripped_model.layers:
    weights = getattr(layer, "depthwise_kernel", None)
    weights = getattr(layer, "kernel", None) if weights is None else weights
    if weights is None:
        continue
    is_pointwise = isinstance(layer, keras.layers.Conv2D) and layer.kernel_size == (1, 1)
    (pointwise if is_pointwise else others).append(weights.numpy())
    kernel_rows.append(
        [
            layer.name,
            tuple(weights.shape),
            "yes" if is_pointwise else "no",
            f"{sparsity([weights.numpy()]):.2%}",
        ]
    )
show_table(["layer", "kernel shape", "pruned by the policy", "zeros"], kernel_rows)
pruned_layers = len(pointwise)
pointwise_sparsity = min(sparsity([kernel]) for kernel in pointwise)
other_layers_sparsity = max(sparsity([kernel]) for kernel in others)

# %% [markdown]
# Only the 1x1 convolutions were pruned, each to 75% zeros; the stem, the depthwise
# convolutions and the classifier keep all their weights.
#
# ## Convert with sparse weights
#
# Convert the stripped model twice: once as usual, and once with
# `converter.optimizations = [tf.lite.Optimize.EXPERIMENTAL_SPARSITY]`. With that option, the
# converter stores each kernel that is sparse enough in a compressed sparse format, and inserts a
# `DENSIFY` operator in front of the operator that uses it. XNNPACK looks for exactly these
# operators to decide whether to try sparse inference.

# %%
pruned_dense_tflite = to_tflite(stripped_model, "float")
pruned_dense_path = save_bytes(pruned_dense_tflite, workdir, "pruned_dense_format.tflite")

converter = tf.lite.TFLiteConverter.from_keras_model(stripped_model)
converter.optimizations = [tf.lite.Optimize.EXPERIMENTAL_SPARSITY]
sparse_tflite = converter.convert()
sparse_path = save_bytes(sparse_tflite, workdir, "sparse.tflite")

OPERATOR_NAMES = {
    value: name
    for name, value in vars(tflite_schema.BuiltinOperator).items()
    if not name.startswith("_")
}


def describe(tflite_model):
    """The operators of a .tflite model, in order, and how many tensors it stores as sparse."""
    flatbuffer = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite_model))
    subgraph = flatbuffer.subgraphs[0]
    codes = flatbuffer.operatorCodes
    operators = [
        OPERATOR_NAMES[
            max(codes[op.opcodeIndex].builtinCode, codes[op.opcodeIndex].deprecatedBuiltinCode)
        ]
        for op in subgraph.operators
    ]
    return operators, sum(tensor.sparsity is not None for tensor in subgraph.tensors)


dense_operators, _ = describe(dense_tflite)
sparse_operators, sparse_tensors = describe(sparse_tflite)
densify_ops = sparse_operators.count("DENSIFY")
print("dense model: ", " ".join(dense_operators))
print("sparse model:", " ".join(sparse_operators))
print(f"{densify_ops} DENSIFY operators, {sparse_tensors} tensors stored as sparse")

dense_tflite_bytes, dense_tflite_zipped_bytes = file_size(dense_path), zipped_size(dense_path)
pruned_dense_tflite_bytes = file_size(pruned_dense_path)
pruned_dense_tflite_zipped_bytes = zipped_size(pruned_dense_path)
sparse_tflite_bytes, sparse_tflite_zipped_bytes = file_size(sparse_path), zipped_size(sparse_path)
show_table(
    [".tflite file", "bytes", "zipped bytes"],
    [
        ["dense baseline", f"{dense_tflite_bytes:,}", f"{dense_tflite_zipped_bytes:,}"],
        [
            "pruned, usual conversion",
            f"{pruned_dense_tflite_bytes:,}",
            f"{pruned_dense_tflite_zipped_bytes:,}",
        ],
        [
            "pruned, EXPERIMENTAL_SPARSITY",
            f"{sparse_tflite_bytes:,}",
            f"{sparse_tflite_zipped_bytes:,}",
        ],
    ],
)
assert densify_ops == sparse_tensors == pruned_layers

# %% [markdown]
# The sparse model has one `DENSIFY` operator per pruned convolution, each feeding the
# convolution the kernel it stores in sparse form. That shows on disk: the usual conversion
# keeps every zero and has exactly as many bytes as the baseline, whereas the sparse file is
# 1.5x smaller on disk before any zipping. Zipping then brings the usual conversion close to it,
# since zeros compress well too.
#
# ## Check accuracy
#
# The `DENSIFY` operators rebuild the exact kernels, so the sparse model should predict what the
# pruned Keras model predicts.

# %%
dense_tflite_accuracy = tflite_accuracy(dense_tflite, x_test, y_test)
sparse_tflite_accuracy = tflite_accuracy(sparse_tflite, x_test, y_test)
show_table(
    ["model", "Keras", "TFLite (LiteRT)"],
    [
        ["dense baseline", f"{baseline_accuracy:.2%}", f"{dense_tflite_accuracy:.2%}"],
        ["pruned, sparse format", f"{pruned_accuracy:.2%}", f"{sparse_tflite_accuracy:.2%}"],
    ],
)

# %% [markdown]
# The sparse `.tflite` model scores within 0.1 point of the pruned Keras model, and with three
# quarters of its 1x1 weights pruned the model stays within 1 point of the dense baseline.
#
# ## Time dense against sparse
#
# LiteRT applies the XNNPACK delegate by default. The next cell times each model on one thread
# with a single image, in rounds that take turns between the models (a busy moment of the
# machine then falls on all of them alike), and keeps each model's median of the round medians.
# Rounds go on until the comparison is clear, at most `latency_budget_s` seconds. For comparison
# it also times the dense model with XNNPACK turned off (LiteRT's own kernels), in an interpreter
# built for that and handed to `compare_latency` as it is.


# %%
without_xnnpack = Interpreter(
    model_content=dense_tflite,
    num_threads=1,
    experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
)
latency = compare_latency(
    {"dense": dense_tflite, "sparse": sparse_tflite, "no_xnnpack": without_xnnpack},
    sample=x_test[0],
    runs_per_round=latency_runs,
    budget_s=latency_budget_s,
)
dense_latency_ms = latency["dense"]["median_ms"]
dense_latency_ms_samples = latency["dense"]["rounds_ms"]
sparse_latency_ms = latency["sparse"]["median_ms"]
sparse_latency_ms_samples = latency["sparse"]["rounds_ms"]
no_xnnpack_latency_ms = latency["no_xnnpack"]["median_ms"]
no_xnnpack_latency_ms_samples = latency["no_xnnpack"]["rounds_ms"]
show_latency(
    latency,
    baseline="dense",
    labels={"dense": "dense", "sparse": "sparse", "no_xnnpack": "dense, XNNPACK off"},
)

# %% [markdown]
# XNNPACK is clearly in use: with it, the dense model runs at least 3x faster than with
# LiteRT's own kernels. The sparse model, however, is no faster than the dense model here.
#
# ## Why no speed-up on this machine
#
# Whether XNNPACK runs a sparse model with sparse kernels is decided when the model is loaded,
# and the decision depends on the CPU. On x86 processors with AVX, XNNPACK keeps the dense
# kernels on purpose: its sparse micro-kernels for x86 only use SSE, and its source code notes
# that on processors with AVX dense inference is expected to be faster. The sparse path is
# built for ARM, the CPUs of phones. The next cell looks at the CPU this notebook runs on.

# %%
machine = platform.machine()
cpu_flags = set()
if os.path.exists("/proc/cpuinfo"):
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("flags"):
                cpu_flags.update(line.split(":", 1)[1].split())
                break
cpu_has_avx = int(machine in ("x86_64", "AMD64", "i686") and "avx" in cpu_flags)
print(f"machine: {machine}; AVX: {'yes' if cpu_has_avx else 'no'}")

# %% [markdown]
# A second clue comes from the numbers themselves. Sparse kernels add up the products in a
# different order from dense ones, which changes the last bits of the outputs. The next cell
# compares the logits of the sparse model with those of the pruned model in the usual format,
# both run by XNNPACK.


# %%
def logits(tflite_model, images):
    interpreter = Interpreter(model_content=tflite_model, num_threads=1)
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], [len(images), 28, 28, 3])
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], images)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


sparse_vs_dense_logit_difference = float(
    np.max(
        np.abs(logits(sparse_tflite, x_test[:1000]) - logits(pruned_dense_tflite, x_test[:1000]))
    )
)
print(f"largest logit difference, sparse vs usual format: {sparse_vs_dense_logit_difference}")

# %% [markdown]
# On this run the CPU is an x86 processor with AVX, and the sparse model's logits are identical
# to those of the same weights stored densely: XNNPACK computed with the same dense kernels in
# both cases. The latency comparison above is therefore no test of the sparse kernels.
#
# On a phone it is different. The TFMOT documentation publishes a benchmark on a Pixel 4, one
# thread, with a small CIFAR-10 classifier of its own: 17 microseconds for the dense model against
# 12 microseconds for the pruned one, about 30% faster. That needs an ARM device (for example the
# `benchmark_model` tool over `adb`), which this notebook cannot reach; treat the published
# figure as what to expect there, and measure your own model on your target device.
#
# ## Summary

# %%
show_table(
    ["", "dense baseline", "pruned, sparse format"],
    [
        ["LiteRT accuracy", f"{dense_tflite_accuracy:.2%}", f"{sparse_tflite_accuracy:.2%}"],
        ["bytes", f"{dense_tflite_bytes:,}", f"{sparse_tflite_bytes:,}"],
        ["zipped bytes", f"{dense_tflite_zipped_bytes:,}", f"{sparse_tflite_zipped_bytes:,}"],
        ["DENSIFY operators", dense_operators.count("DENSIFY"), densify_ops],
        ["latency, median of rounds (ms)", f"{dense_latency_ms:.4f}", f"{sparse_latency_ms:.4f}"],
    ],
)

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
names = ["dense\nbaseline", "pruned,\nusual format", "pruned,\nsparse format"]
raw = [dense_tflite_bytes, pruned_dense_tflite_bytes, sparse_tflite_bytes]
zipped = [dense_tflite_zipped_bytes, pruned_dense_tflite_zipped_bytes, sparse_tflite_zipped_bytes]
positions = np.arange(len(names))
axes[0].bar(positions - 0.2, [b / 1024 for b in raw], width=0.4, label="on disk", color="#b0b0b0")
axes[0].bar(positions + 0.2, [b / 1024 for b in zipped], width=0.4, label="zipped", color="#1f77b4")
axes[0].set_xticks(positions, names)
axes[0].set_ylabel("KiB")
axes[0].set_title("File size")
axes[0].legend()
axes[1].bar(
    ["dense", "sparse", "dense,\nXNNPACK off"],
    [dense_latency_ms, sparse_latency_ms, no_xnnpack_latency_ms],
    color=["#1f77b4", "#ff7f0e", "#b0b0b0"],
)
axes[1].set_ylabel("ms (median, 1 thread)")
axes[1].set_title("Latency on this CPU")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What you did
#
# * You built a model whose first layers, body and end match what XNNPACK's sparse inference
#   needs, and saw the policy turn down models that do not.
# * You pruned only its 1x1 convolutions with `PruneForLatencyOnXNNPack`.
# * You converted with `EXPERIMENTAL_SPARSITY` and found the `DENSIFY` operators and the sparse
#   tensors in the file, which also make it smaller on disk.
# * You checked, rather than assumed, whether XNNPACK used its sparse kernels on your CPU.
#
# To see the speed-up, run the two `.tflite` files on an Android phone with the TFLite
# `benchmark_model` tool and `--use_xnnpack=true`, one thread.
