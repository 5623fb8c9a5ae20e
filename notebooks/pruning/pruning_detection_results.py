# %% [markdown]
# # Pruning an object detector

# %% [markdown]
# The detection results of the pruning overview. The detector is a small single-shot model
# trained here on *synthetic scenes of real objects*: 64x64 canvases holding one to three real
# Fashion-MNIST items at random sizes and places, whose boxes are therefore known exactly. It is
# scored by mAP@0.5 on test scenes made of Fashion-MNIST's test items.
#
# First you see what `prune_low_magnitude` makes of a pretrained detector built differently:
# the output network (O-Net) of the MTCNN face detector, with its published weights. Then the
# scene detector, trained as the baseline, is pruned to each sparsity of the sweep while a copy
# of it is fine-tuned. Every configuration is exported to TensorFlow Lite and measured in
# LiteRT: mAP, raw and zipped size, latency on one thread and runtime memory.

# %%
# tutorial-gen: setup

# %%
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import math
import tempfile

import matplotlib.pyplot as plt
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

print("TensorFlow", tf.__version__, "| tf_keras", keras.__version__, "| TFMOT", tfmot.__version__)

# %% [markdown]
# The parameters of the run. `sparsities` is the sweep; `int8_sparsity` is the sparsity combined
# with full integer post-training quantization when `with_int8` is set.

# %% tags=["parameters"]
seed = 42
train_scenes = 10000
test_scenes = 2000
epochs = 5  # of training the baseline
fine_tune_epochs = 2  # of each pruned copy
batch_size = 64
sparsities = [0.5, 0.8]
int8_sparsity = 0.5
with_int8 = True
latency_runs = 200
measure_memory = True

# %% [markdown]
# The helpers: measuring (`measure`), conversion (`convert`), the results table and chart
# (`results`), Fashion-MNIST (`models`), and the detection task (`detection`: O-Net with its
# weights, the scenes, the grid detector, mAP).

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
# ## A pretrained face detector: what `prune_low_magnitude` says

# %%
face_net = pretrained_onet()
onet_refusal = whole_model_refusal(tfmot.sparsity.keras.prune_low_magnitude, face_net)
onet_refused = int(onet_refusal is not None)
onet_refused_at_prelu = int(onet_refusal is not None and "PReLU" in onet_refusal)
print(onet_refusal or "prune_low_magnitude took the whole O-Net")

# %% [markdown]
# O-Net follows every convolution with a `PReLU` activation, whose learned slopes are weights,
# and TFMOT's pruning registry has no entry for that layer: pruning the whole model stops there.
# Its `Conv2D` and `Dense` layers can be wrapped one by one, but pruning only pays off with
# fine-tuning, and a pretrained face detector needs face data to be fine-tuned on: none with
# boxes is available here. The rest of this notebook prunes a detector that can be trained.
#
# ## The baseline: a detector trained on synthetic scenes of real objects
#
# Each scene has one to three Fashion-MNIST items, 18 to 32 pixels wide, that do not overlap.
# The detector reads the 64x64 scene as an 8x8 grid; each cell predicts whether an item's
# centre is in it, the item's box and its class. It has only convolutions.

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="pruning_detection_results_")
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
# ## The sweep
#
# Each configuration starts from an independent copy of the baseline (the wrappers reuse the
# layers they wrap). The schedule raises the sparsity of every kernel from zero to its final
# value over the first three quarters of the fine-tuning; the last quarter fine-tunes at the
# final sparsity.

# %%
steps = math.ceil(train_scenes / batch_size) * fine_tune_epochs
end_step = max(1, int(steps * 0.75))


def prune_and_finetune(final_sparsity):
    """A copy of the baseline pruned to `final_sparsity` while fine-tuned, stripped, as
    `.tflite` files (float, and int8 if asked), and the measured sparsity of its kernels."""
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        0.0, final_sparsity, begin_step=0, end_step=end_step, frequency=max(1, end_step // 10)
    )
    keras.utils.set_random_seed(seed)
    pruned = tfmot.sparsity.keras.prune_low_magnitude(
        copy_model(detector), pruning_schedule=schedule
    )
    callbacks = [tfmot.sparsity.keras.UpdatePruningStep()]
    train_detector(
        pruned,
        train_images,
        train_truth,
        fine_tune_epochs,
        batch_size,
        learning_rate=5e-4,
        callbacks=callbacks,
    )
    stripped = tfmot.sparsity.keras.strip_pruning(pruned)
    kernels = kernels_of(stripped)
    files = {"float": to_tflite(stripped, "float")}
    if with_int8 and final_sparsity == int8_sparsity:
        files["int8"] = to_tflite(stripped, "int8", representative=train_images)
    return files, sparsity(kernels)


sparsity_shortfalls = []
for target in sorted(set(sparsities) | ({int8_sparsity} if with_int8 else set())):
    print(f"--- {target:.0%} sparsity")
    files, reached = prune_and_finetune(target)
    sparsity_shortfalls.append(target - reached)
    print(f"{reached:.2%} zeros in the pruned kernels")
    for mode, tflite_model in files.items():
        if mode == "float" and target not in sparsities:
            continue
        measured = measure(tflite_model, f"{target:.2f}_{mode}")
        config = f"{target:.0%} sparsity" + (" + full integer PTQ (int8)" if mode == "int8" else "")
        results_rows.append(results_row(MODEL_NAME, config, target, measured, baseline))

max_sparsity_shortfall = max(sparsity_shortfalls)

# %% [markdown]
# ## Results
#
# The score is LiteRT mAP@0.5 on the test scenes; "zipped" is the size of a zip archive of the
# `.tflite` file, where the zeros of a pruned model pay off.

# %%
results_table(
    results_rows,
    {
        "configuration": "{config}",
        "mAP@0.5": "{accuracy:.2%}",
        "change (points)": "{change_points:+.2f}",
        ".tflite": "{tflite_kib:,.1f} KiB",
        "zipped": "{size_kib:,.1f} KiB",
        "zipped: times smaller": "{zipped_ratio:.2f}x",
        "latency ms (median)": "{latency_ms:.3f}",
        "memory KB": "{memory_kib:,.0f}",
    },
)
figure = plot_accuracy_vs_size(
    results_rows,
    "Pruning the scene detector: mAP@0.5 against zipped size",
    label="{:.0%}",
    baseline_on_curve=True,
)
figure.axes[0].set_ylabel("LiteRT mAP@0.5 on the test scenes")
plt.show()

float_rows = [row for row in results_rows[1:] if not is_int8(row)]
max_zipped_ratio = max(zipped_ratio(row) for row in float_rows)
drops = {row["hyperparameter"]: accuracy_drop(row) for row in float_rows}
map_drop_50, map_drop_80 = drops.get(0.5), drops.get(0.8)
zipped_ratio_50 = next((zipped_ratio(r) for r in float_rows if r["hyperparameter"] == 0.5), None)
parameter_count = detector.count_params()
for name in ("map_drop_50", "map_drop_80", "zipped_ratio_50"):
    if globals()[name] is None:
        globals()[f"{name}_unmeasured_reason"] = "this run's `sparsities` leaves it out"
int8_rows = [row for row in results_rows if is_int8(row)]
int8_zipped_ratio = zipped_ratio(int8_rows[0]) if int8_rows else None
if int8_zipped_ratio is None:
    int8_zipped_ratio_unmeasured_reason = "this run sets `with_int8` off"

# %% [markdown]
# Every pruned detector reached its target sparsity. At 50% sparsity the detector loses less
# than 5 points of mAP@0.5, for a zipped file 1.6x smaller; with full integer quantization on
# top, the 50% sparse model's zipped file is more than 4x smaller than the baseline's. At 80%
# sparsity the zipped file is about 3x smaller, but the detector loses more than 20 points: after
# two epochs of fine-tuning, a detector of 140 thousand weights has few to spare. A larger
# detector, or longer fine-tuning at the higher sparsity, is where such sparsity becomes worth
# trying.
