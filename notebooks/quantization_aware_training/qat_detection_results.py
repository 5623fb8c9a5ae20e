# %% [markdown]
# # Quantization-aware training of an object detector

# %% [markdown]
# The detection results of the quantization-aware training overview. The detector is a small
# single-shot model trained here on *synthetic scenes of real objects*: 64x64 canvases holding
# one to three real Fashion-MNIST items at random sizes and places, whose boxes are therefore
# known exactly. It is scored by mAP@0.5 on test scenes made of Fashion-MNIST's test items.
#
# First you see what `quantize_model` makes of a pretrained detector built differently: the
# output network (O-Net) of the MTCNN face detector, with its published weights. Then the scene
# detector, trained as the baseline, gets quantization-aware training on a copy, and for
# comparison full integer post-training quantization without any training. Every configuration
# is exported to TensorFlow Lite and measured in LiteRT: mAP, raw and zipped size, latency on
# one thread and runtime memory.

# %%
# tutorial-gen: setup

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import tempfile

import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

print("TensorFlow", tf.__version__, "| tf_keras", keras.__version__, "| TFMOT", tfmot.__version__)

# %% tags=["parameters"]
seed = 42
train_scenes = 10000
test_scenes = 2000
epochs = 5  # of training the baseline
fine_tune_epochs = 2  # of the quantization-aware copy
batch_size = 64
latency_runs = 200
measure_memory = True

# %% [markdown]
# The helpers: measuring (`measure`), conversion (`convert`), the results table (`results`),
# Fashion-MNIST (`models`), and the detection task (`detection`: O-Net with its weights, the
# scenes, the grid detector, mAP).

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
# ## A pretrained face detector: what `quantize_model` says

# %%
Quantization = tfmot.quantization.keras
face_net = pretrained_onet()
onet_refusal = whole_model_refusal(Quantization.quantize_model, face_net)
onet_refused_at_prelu = int(onet_refusal is not None and "PReLU" in onet_refusal)
print(onet_refusal or "quantize_model took the whole O-Net")

# %% [markdown]
# TFMOT's default 8-bit scheme has no quantize configuration for `PReLU`, which follows every
# convolution of O-Net: `quantize_model` stops at the first one. The error names the way round,
# a `QuantizeConfig` of your own for the layer; and quantization-aware training then needs face
# data with boxes to train on, which is not available here. Without training, O-Net converts
# to full integer with post-training quantization and keeps its accuracy on real face patches
# (see the post-training quantization overview). The rest of this notebook trains with
# quantization a detector that can be trained.
#
# ## The baseline: a detector trained on synthetic scenes of real objects
#
# Each scene has one to three Fashion-MNIST items, 18 to 32 pixels wide, that do not overlap.
# The detector reads the 64x64 scene as an 8x8 grid; each cell predicts whether an item's
# centre is in it, the item's box and its class. It has only convolutions.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="qat_detection_results_")
(train_images, train_truth), (test_images, test_truth) = scene_splits(
    train_scenes, test_scenes, seed
)
detector = train_detector(grid_detector(), train_images, train_truth, epochs, batch_size)
scene_score = scene_map(test_truth)

MODEL_NAME = "Grid detector (composed scenes)"

measure = detector_measurer(
    scene_score, test_images, workdir, "scenes", latency_runs=latency_runs, memory=measure_memory
)
baseline = measure(to_tflite(detector, "float"), "baseline")
results_rows = [results_row(MODEL_NAME, "baseline", None, baseline, baseline)]
print(f"{detector.count_params():,} parameters; LiteRT mAP@0.5 {baseline['accuracy']:.3f}")

# %% [markdown]
# ## Quantization-aware training, and post-training quantization beside it
#
# `quantize_model` wraps every layer of a copy of the baseline in fake quantization, and the
# copy is fine-tuned for `fine_tune_epochs` at a low learning rate. The converter then applies
# what it learned (int8 weights and activations). The post-training row converts the baseline
# itself to full integer, calibrated on training scenes.

# %%
keras.utils.set_random_seed(seed)
qat_model = Quantization.quantize_model(copy_model(detector))
train_detector(
    qat_model, train_images, train_truth, fine_tune_epochs, batch_size, learning_rate=2e-4
)
qat_measured = measure(to_tflite(qat_model, "dynamic"), "qat_int8")
results_rows.append(
    results_row(
        MODEL_NAME, "quantization-aware training (int8)", "QAT int8", qat_measured, baseline
    )
)
ptq_measured = measure(to_tflite(detector, "int8", representative=train_images), "ptq_int8")
results_rows.append(
    results_row(MODEL_NAME, "full integer PTQ (int8)", "PTQ int8", ptq_measured, baseline)
)

# %% [markdown]
# ## Results

# %%
results_table(
    results_rows,
    {
        "configuration": "{config}",
        "mAP@0.5": "{accuracy:.2%}",
        "change (points)": "{change_points:+.2f}",
        ".tflite": "{tflite_kib:,.1f} KiB",
        "times smaller": "{raw_ratio:.2f}x",
        "zipped": "{size_kib:,.1f} KiB",
        "latency ms (median)": "{latency_ms:.3f}",
        "memory KB": "{memory_kib:,.0f}",
    },
)
qat_row = find_row(results_rows, MODEL_NAME, hyperparameter="QAT int8")
ptq_row = find_row(results_rows, MODEL_NAME, hyperparameter="PTQ int8")
qat_map_drop = accuracy_drop(qat_row)
ptq_map_drop = accuracy_drop(ptq_row)
qat_size_ratio = raw_ratio(results_rows, qat_row)

# %% [markdown]
# Trained with quantization, the detector converts to a file more than 3x smaller than its
# float baseline, with int8 weights and activations, and loses less than 2 points of mAP@0.5.
# Full integer post-training quantization of the same baseline, with no training at all, also
# stays within 2 points: on a detector of plain convolutions with ReLU, calibration alone finds
# good ranges, and quantization-aware training has little to recover.
