# %% [markdown]
# # Post-training quantization of two object detectors

# %% [markdown]
# The detection results of the post-training quantization overview, on two detectors:
#
# - **MTCNN's O-Net**, the last stage of a widely used pretrained face detector, with its
#   published weights. It takes a 48x48 candidate patch and returns a face probability, a
#   refined box and five landmarks. No box-labelled face set is available here, so each
#   quantized model is scored on the 200 real patches of scikit-image's `lfw_subset` (100 faces
#   from Labeled Faces in the Wild, 100 other patches) by its face / non-face accuracy, and on
#   the faces by how well its boxes and landmarks agree with the float model's.
# - **A small single-shot detector** trained here on *synthetic scenes of real objects*: 64x64
#   canvases holding one to three real Fashion-MNIST items at random sizes and places, whose
#   boxes are therefore known exactly. It is scored by mAP@0.5 on test scenes made of
#   Fashion-MNIST's test items.
#
# Each detector is converted to a float `.tflite` file and with each post-training quantization
# mode: dynamic range, float16 and full integer (int8). Every file is measured in LiteRT: the
# score, raw and zipped size, latency on one thread and runtime memory.

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
# The scene detector trains on `train_scenes` scenes for `epochs` and is tested on
# `test_scenes`. The int8 models are calibrated on `representative_samples` inputs that are not
# test inputs: training scenes, and for O-Net crops of other photos.

# %% tags=["parameters"]
seed = 42
train_scenes = 10000
test_scenes = 2000
epochs = 5
batch_size = 64
modes = ["dynamic", "float16", "int8"]  # post-training quantization modes of `to_tflite`
representative_samples = 100
latency_runs = 200
measure_memory = True

# %% [markdown]
# The shared helpers: measuring (`measure`), conversion (`convert`), the results table
# (`results`), Fashion-MNIST (`models`), and the detection task (`detection`: O-Net with its
# weights, the face patches, the scenes, the grid detector, mAP).

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include convert

# %%
# tutorial-gen: include results

# %%
# tutorial-gen: include models

# %%
# tutorial-gen: include detection

# %% [markdown]
# ## A pretrained face detector: MTCNN's O-Net
#
# The weights come from the `mtcnn` package; the network is rebuilt as a functional Keras model
# so that the converter and TFMOT see ordinary layers.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="ptq_detection_results_")
face_net = pretrained_onet()
patches, patch_labels = face_patches()
reference = dict(zip(ONET_OUTPUTS, face_net.predict(patches, verbose=0), strict=True))
print(
    f"{face_net.count_params():,} parameters; Keras face / non-face accuracy "
    f"{np.mean(np.argmax(reference['face'], axis=1) == patch_labels):.2%}"
)
calibration = calibration_patches(representative_samples, seed)

FACE_MODEL = "MTCNN O-Net (faces)"
MODE_LABELS = {
    "dynamic": "dynamic range (int8 weights)",
    "float16": "float16 weights",
    "int8": "full integer (int8)",
}
face_files = {"float": to_tflite(face_net, "float")}
for mode in modes:
    face_files[mode] = to_tflite(face_net, mode, representative=calibration)
measure_face = detector_measurer(
    face_score(reference, patch_labels),
    patches,
    workdir,
    "onet",
    latency_runs=latency_runs,
    memory=measure_memory,
)
face_rows, agreement = [], {}
for mode, tflite_model in face_files.items():
    measured = measure_face(tflite_model, mode)
    baseline = measured if mode == "float" else face_rows[0]
    label = "float baseline" if mode == "float" else MODE_LABELS[mode]
    face_rows.append(
        results_row(FACE_MODEL, label, None if mode == "float" else mode, measured, baseline)
    )
    agreement[mode] = face_agreement(tflite_outputs(tflite_model, patches), reference, patch_labels)

show_table(
    [
        "mode",
        "face accuracy",
        "box IoU (mean)",
        "box IoU (worst)",
        "landmarks (px)",
        "max Δ p(face)",
    ],
    [
        [
            mode,
            f"{a['face_accuracy']:.1%}",
            f"{a['box_iou_mean']:.4f}",
            f"{a['box_iou_min']:.4f}",
            f"{a['landmark_px']:.3f}",
            f"{a['face_probability_change']:.4f}",
        ]
        for mode, a in agreement.items()
    ],
)

# %% [markdown]
# The agreement columns compare each file's outputs on the 100 faces with those of the Keras
# float model: the overlap (IoU) of the refined boxes, the mean distance between the landmarks
# in pixels of the 48-pixel patch, and the largest change of the face probability over all 200
# patches.
#
# ## A detector trained on synthetic scenes of real objects
#
# Each scene has one to three Fashion-MNIST items, 18 to 32 pixels wide, that do not overlap.
# The detector reads the 64x64 scene as an 8x8 grid; each cell predicts whether an item's
# centre is in it, the item's box and its class.

# %%
(train_images, train_truth), (test_images, test_truth) = scene_splits(
    train_scenes, test_scenes, seed
)
fig, axes = plt.subplots(1, 4, figsize=(9, 2.6))
for ax, image, (boxes, classes) in zip(axes, test_images[:4], test_truth[:4], strict=True):
    ax.imshow(image[..., 0], cmap="gray")
    for (x1, y1, x2, y2), label in zip(boxes, classes, strict=True):
        ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color="#ff7f0e"))
        ax.text(x1, y1 - 1, CLASS_NAMES[label], color="#ff7f0e", fontsize=7)
    ax.axis("off")
fig.suptitle("Test scenes and their exact boxes")
plt.show()

detector = train_detector(grid_detector(), train_images, train_truth, epochs, batch_size)
scene_score = scene_map(test_truth)
keras_map = scene_score({"cells": detector.predict(test_images, verbose=0)})
print(f"{detector.count_params():,} parameters; Keras mAP@0.5 {keras_map:.3f}")

# %%
SCENE_MODEL = "Grid detector (composed scenes)"
measure = detector_measurer(
    scene_score, test_images, workdir, "scenes", latency_runs=latency_runs, memory=measure_memory
)
scene_rows = []
for mode in ["float", *modes]:
    print(f"--- {mode}")
    measured = measure(to_tflite(detector, mode, representative=train_images), mode)
    baseline = measured if mode == "float" else scene_rows[0]
    label = "float baseline" if mode == "float" else MODE_LABELS[mode]
    scene_rows.append(
        results_row(SCENE_MODEL, label, None if mode == "float" else mode, measured, baseline)
    )

# %% [markdown]
# ## Results
#
# The score column is the face / non-face accuracy for O-Net and mAP@0.5 for the scene detector.

# %%
DETECTION_COLUMNS = {
    "model": "{model}",
    "configuration": "{config}",
    "score": "{accuracy:.2%}",
    "change (points)": "{change_points:+.2f}",
    ".tflite": "{tflite_kib:,.1f} KiB",
    "times smaller": "{raw_ratio:.2f}x",
    "zipped": "{size_kib:,.1f} KiB",
    "latency ms (median)": "{latency_ms:.3f}",
    "memory KB": "{memory_kib:,.0f}",
}
results_table(face_rows + scene_rows, DETECTION_COLUMNS)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for ax, rows, title in [(axes[0], face_rows, "O-Net"), (axes[1], scene_rows, "scene detector")]:
    labels = ["float" if row["hyperparameter"] is None else row["hyperparameter"] for row in rows]
    bars = ax.bar(labels, [row["tflite_bytes"] / 1024 for row in rows], color="#1f77b4")
    ax.bar_label(bars, labels=[f"{row['accuracy']:.1%}" for row in rows], fontsize=8)
    ax.set_ylabel(".tflite size (KiB)")
    ax.set_title(f"{title}: size per mode (labels: score)")
fig.tight_layout()
plt.show()


# %%
def mode_metric(rows, model, mode, metric):
    """`metric` (`raw_ratio` or `accuracy_drop`) of the row of `mode`; None if this run's `modes`
    leaves the mode out."""
    if mode not in modes:
        return None
    row = find_row(rows, model, hyperparameter=mode)
    return raw_ratio(rows, row) if metric == "raw_ratio" else accuracy_drop(row)


onet_int8_size_ratio = mode_metric(face_rows, FACE_MODEL, "int8", "raw_ratio")
onet_worst_accuracy_drop = max(accuracy_drop(row) for row in face_rows[1:])
onet_int8_box_iou_min = agreement["int8"]["box_iou_min"] if "int8" in agreement else None
onet_int8_landmark_px = agreement["int8"]["landmark_px"] if "int8" in agreement else None
scene_float_map = scene_rows[0]["accuracy"]
scene_worst_map_drop = max(accuracy_drop(row) for row in scene_rows[1:])
scene_int8_size_ratio = mode_metric(scene_rows, SCENE_MODEL, "int8", "raw_ratio")
for name in ("onet_int8_size_ratio", "onet_int8_box_iou_min", "onet_int8_landmark_px"):
    if globals()[name] is None:
        globals()[f"{name}_unmeasured_reason"] = "this run's `modes` leaves int8 out"
if scene_int8_size_ratio is None:
    scene_int8_size_ratio_unmeasured_reason = "this run's `modes` leaves int8 out"

# %% [markdown]
# Both detectors take post-training quantization well. The pretrained O-Net keeps its
# face / non-face accuracy on the 200 real patches in every mode, and its full integer file is
# 3.8x smaller than the float one; its refined boxes still overlap the float model's by an IoU
# of more than 0.9 on every face, and its landmarks move by a fraction of a pixel. The scene
# detector loses less than 2 points of mAP@0.5 in any mode, full integer included.
#
# Both are small detectors, and each runs in about a millisecond or less on one thread. A
# complete MTCNN runs O-Net on every candidate face its first two networks propose, so what a
# photo costs grows with the number of candidates, and the per-patch latency above is the unit.
