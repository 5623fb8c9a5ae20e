# %% [markdown]
# # Post-training quantization of an ImageNet model: MobileNetV2 224

# %% [markdown]
# The ImageNet results of the post-training quantization overview. The model is MobileNetV2
# (width 1.0, 224x224 input) with torchvision's published ImageNet weights, rebuilt here as a
# functional Keras model, layer by layer.
#
# No ImageNet validation set can be read offline where this notebook is checked, so it does not
# report ImageNet accuracy. It checks the rebuilt model on a few real photos instead, then
# measures every quantization mode on a task it can score: **transfer to Fashion-MNIST**. A
# 10-way classifier is trained on MobileNetV2's frozen ImageNet features of real Fashion-MNIST
# items, and the whole classifier (MobileNetV2 and its head) is converted to a float `.tflite`
# file and with each post-training quantization mode: dynamic range, float16 and full integer
# (int8). Every file is measured in LiteRT: accuracy on the test items, agreement with the Keras
# float model, raw and zipped size, latency on one thread and runtime memory.

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
from skimage import data

print("TensorFlow", tf.__version__, "| tf_keras", keras.__version__)

# %% [markdown]
# The head trains for `epochs` on the features of `train_samples` training items and is tested
# on `test_samples` test items. The int8 model is calibrated on `representative_samples`
# training items.

# %% tags=["parameters"]
seed = 42
train_samples = 1000
test_samples = 1000
epochs = 30
modes = ["dynamic", "float16", "int8"]  # post-training quantization modes of `to_tflite`
representative_samples = 100
latency_runs = 100
measure_memory = True

# %% [markdown]
# The shared helpers: measuring (`measure`), conversion (`convert`), the results table
# (`results`), Fashion-MNIST (`models`), and the ImageNet model (`imagenet`: MobileNetV2 with
# torchvision's weights, read without PyTorch).

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include convert

# %%
# tutorial-gen: include results

# %%
# tutorial-gen: include models

# %%
# tutorial-gen: include imagenet

# %% [markdown]
# ## The pretrained model
#
# `keras.utils.get_file` downloads torchvision's checkpoint once and checks its
# SHA-256. A few of scikit-image's photos show that the rebuilt network is the trained one: the
# class names below are the ImageNet classes a correct MobileNetV2 should rank first.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="ptq_imagenet_results_")
features, imagenet_model = pretrained_mobilenet_v2()
print(f"{imagenet_model.count_params():,} parameters (batch normalization statistics included)")

PHOTOS = {  # photo: the ImageNet classes (index: name) a right answer is among
    "chelsea": {281: "tabby cat", 282: "tiger cat", 285: "Egyptian cat"},
    "coffee": {967: "espresso", 968: "cup"},
    "rocket": {657: "missile", 744: "projectile", 812: "space shuttle"},
}
photos = np.stack([centre_crop(getattr(data, name)()) for name in PHOTOS])
probabilities = tf.nn.softmax(imagenet_model.predict(imagenet_input(photos), verbose=0)).numpy()
top1 = np.argmax(probabilities, axis=1)
fig, axes = plt.subplots(1, len(PHOTOS), figsize=(9, 3.4))
for ax, photo, name, p, first in zip(axes, photos, PHOTOS, probabilities, top1, strict=True):
    ax.imshow(photo)
    label = PHOTOS[name].get(int(first), f"class {first}, not expected")
    ax.set_title(f"{name}: {label} ({p[first]:.0%})", fontsize=9)
    ax.axis("off")
fig.suptitle("Top-1 ImageNet class of the rebuilt float MobileNetV2")
plt.show()
photos_recognized = sum(int(t) in PHOTOS[name] for name, t in zip(PHOTOS, top1, strict=True))
print(f"{photos_recognized} of {len(PHOTOS)} photos get an expected class")

# %% [markdown]
# ## Transfer to Fashion-MNIST
#
# The classifier takes a raw 28x28 Fashion-MNIST item; inside the model it is resized to
# 224x224, repeated into three channels and normalized as the ImageNet weights expect. Only the
# head (one `Dense` layer on the 1,280 pooled features) is trained, on features computed once.

# %%
(x_train, y_train), (x_test, y_test) = load_fashion_mnist(train_samples)
x_train, x_test, y_test = (
    x_train[..., None],
    x_test[:test_samples, ..., None],
    y_test[:test_samples],
)
head = keras.layers.Dense(10, activation="softmax", name="fashion_head")
classifier = fashion_transfer_model(features, head)
prepare = keras.Model(classifier.input, classifier.get_layer("normalize").output)
train_features = features.predict(prepare.predict(x_train, verbose=0), verbose=0)
head_model = keras.Sequential([keras.Input((train_features.shape[1],)), head])
head_model.compile(
    optimizer=keras.optimizers.Adam(1e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
head_model.fit(train_features, y_train, epochs=epochs, batch_size=64, verbose=0)
keras_predictions = np.argmax(classifier.predict(x_test, verbose=0), axis=1)
print(
    f"{classifier.count_params():,} parameters; Keras test accuracy "
    f"{np.mean(keras_predictions == y_test):.2%} on {len(y_test)} items"
)

# %%
MODEL = "MobileNetV2 224 (ImageNet weights, Fashion-MNIST head)"
MODE_LABELS = {
    "dynamic": "dynamic range (int8 weights)",
    "float16": "float16 weights",
    "int8": "full integer (int8)",
}
rows, agreement = [], {}
for mode in ["float", *modes]:
    print(f"--- {mode}")
    tflite_model = to_tflite(classifier, mode, representative=x_train)
    measured = measure_tflite(
        tflite_model, x_test, y_test, workdir, mode, latency_runs, measure_memory
    )
    baseline = measured if mode == "float" else rows[0]
    label = "float baseline" if mode == "float" else MODE_LABELS[mode]
    rows.append(results_row(MODEL, label, None if mode == "float" else mode, measured, baseline))
    agreement[mode] = float(np.mean(tflite_predict(tflite_model, x_test) == keras_predictions))

# %% [markdown]
# ## Results

# %%
results_table(rows)
show_table(
    ["mode", "agrees with Keras float"], [[mode, f"{a:.1%}"] for mode, a in agreement.items()]
)

fig, ax = plt.subplots(figsize=(6, 3.6))
labels = ["float" if row["hyperparameter"] is None else row["hyperparameter"] for row in rows]
bars = ax.bar(labels, [row["tflite_bytes"] / 2**20 for row in rows], color="#1f77b4")
ax.bar_label(bars, labels=[f"{row['accuracy']:.1%}" for row in rows], fontsize=8)
ax.set_ylabel(".tflite size (MiB)")
ax.set_title("MobileNetV2 224: size per mode (labels: transfer accuracy)")
fig.tight_layout()
plt.show()


# %%
def mode_metric(mode, metric):
    """`metric` (`raw_ratio` or `accuracy_drop`) of the row of `mode`; None if this run's `modes`
    leaves the mode out."""
    if mode not in modes:
        return None
    row = find_row(rows, MODEL, hyperparameter=mode)
    return raw_ratio(rows, row) if metric == "raw_ratio" else accuracy_drop(row)


float_accuracy = rows[0]["accuracy"]
weight_modes = [mode for mode in ("dynamic", "float16") if mode in modes]
weight_only_worst_drop = max((mode_metric(m, "accuracy_drop") for m in weight_modes), default=None)
weight_only_worst_agreement = min((agreement[m] for m in weight_modes), default=None)
dynamic_size_ratio = mode_metric("dynamic", "raw_ratio")
int8_size_ratio = mode_metric("int8", "raw_ratio")
int8_accuracy_drop = mode_metric("int8", "accuracy_drop")
int8_agreement = agreement.get("int8")
for name in ("int8_size_ratio", "int8_accuracy_drop", "int8_agreement"):
    if globals()[name] is None:
        globals()[f"{name}_unmeasured_reason"] = "this run's `modes` leaves int8 out"
for name in ("weight_only_worst_drop", "weight_only_worst_agreement", "dynamic_size_ratio"):
    if globals()[name] is None:
        globals()[f"{name}_unmeasured_reason"] = (
            "this run's `modes` leaves the weight-only modes out"
        )

# %% [markdown]
# MobileNetV2 takes the weight-only modes well and full integer quantization less well. Dynamic
# range quantization makes the file 3.5x smaller and float16 about half the size; both keep the
# transfer accuracy within 1 point of the float file and give the Keras float model's answer on
# 99% of the test items. Full integer quantization makes the file 3.2x smaller, but costs more
# than 2 points of accuracy, and it gives the float model's answer on fewer than 9 test items in
# 10. For such a model, quantization-aware training, which lets the weights adapt to 8-bit
# activations, is the technique to try next; this notebook does not measure it.
#
# The figures are those of a real ImageNet network, but the accuracy is that of a transfer task:
# how much ImageNet top-1 accuracy each mode keeps is not measured here.
