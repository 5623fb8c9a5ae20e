# %% [markdown]
# # Pruning results: three models, three sparsity levels

# %% [markdown]
# How much does pruning save, and what does it cost, on models of different shapes? This notebook
# measures it on three small Fashion-MNIST classifiers: the CNN of the TFMOT tutorials, a
# dense-only MLP and a mobile-style network built from depthwise-separable convolutions.
#
# For each model it trains a float baseline, then prunes a fresh copy of it to 50%, 75% and 90%
# final sparsity (the fraction of zeros in every prunable kernel, the hyperparameter that matters
# most) while fine-tuning. One more configuration combines 80% sparsity with post-training full
# integer (int8) quantization. Every configuration is stripped of its pruning wrappers, exported
# to TensorFlow Lite and measured the same way: LiteRT accuracy on all 10,000 test images, raw
# and zipped size, latency on one thread and runtime memory. The table it builds is the one on
# the overview page.

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
# with int8 quantization.

# %% tags=["parameters"]
seed = 42
train_samples = 60000  # all of Fashion-MNIST
batch_size = 128
baseline_epochs = 8
pruning_epochs = 2
sparsities = [0.5, 0.75, 0.9]
int8_sparsity = 0.8
latency_runs = 200
measure_memory = True

# %% [markdown]
# The helpers: `measure` (sizes, LiteRT accuracy, latency, memory, sparsity, tables), `models`
# (data, the three architectures, training helpers) and `convert` (`to_tflite`,
# `measure_tflite`, which takes every deployment measurement of one `.tflite` at once, and
# `results_row`).

# %%
# tutorial-gen: include measure

# %%
# tutorial-gen: include models

# %%
# tutorial-gen: include convert

# %%
# tutorial-gen: include results

# %% [markdown]
# ## Data

# %%
keras.utils.set_random_seed(seed)
workdir = tempfile.mkdtemp(prefix="pruning_results_")
(x_train, y_train), (x_test, y_test) = load_fashion_mnist(train_samples)
print(f"training images: {x_train.shape}, test images: {x_test.shape}")

# %% [markdown]
# ## The sweep
#
# For each architecture: train the baseline and save it; then, for each final sparsity, load a
# fresh copy, prune every layer TFMOT knows how to prune while fine-tuning, strip the wrappers
# and convert. Loading a fresh copy matters: `prune_low_magnitude` wraps the layers of the model
# it is given, so pruning the baseline itself would change it.
#
# The schedule raises the sparsity from zero to its final value along TFMOT's polynomial curve
# over the first three quarters of the fine-tuning, with masks updated about twenty times on the
# way; the last quarter lets the model recover at its final sparsity. Before measuring, the next
# cell checks that every pruned kernel reached its target.

# %%
steps = math.ceil(int(len(x_train) * 0.9) / batch_size) * pruning_epochs
ramp_steps = int(steps * 0.75)  # the last quarter fine-tunes at the final sparsity
frequency = max(1, ramp_steps // 20)
end_step = (ramp_steps // frequency) * frequency
print(f"{steps} fine-tuning steps; final sparsity from step {end_step}")


def prune_and_finetune(baseline_path, final_sparsity):
    """A fresh copy of the baseline, pruned while fine-tuned, stripped; and its kernel sparsity."""
    keras.utils.set_random_seed(seed)
    model = tfmot.sparsity.keras.prune_low_magnitude(
        keras.models.load_model(baseline_path, compile=False),
        pruning_schedule=tfmot.sparsity.keras.PolynomialDecay(
            initial_sparsity=0.0,
            final_sparsity=final_sparsity,
            begin_step=0,
            end_step=end_step,
            frequency=frequency,
        ),
    )
    compile_for_training(model)
    model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=pruning_epochs,
        validation_split=0.1,
        verbose=2,
        callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
    )
    kernels = [w.numpy() for layer in model.layers for w in layer.prunable_weights]
    return tfmot.sparsity.keras.strip_pruning(model), sparsity(kernels)


results_rows = []
sparsity_shortfalls = []  # target sparsity minus measured, for every pruned model
for model_name, build in ARCHITECTURES.items():
    print(f"=== {model_name}")
    keras.utils.set_random_seed(seed)
    baseline_model = compile_for_training(build())
    baseline_model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=baseline_epochs,
        validation_split=0.1,
        verbose=2,
    )
    slug = model_name.lower().replace(" ", "_")
    baseline_path = os.path.join(workdir, f"{slug}_baseline.h5")
    keras.models.save_model(baseline_model, baseline_path, include_optimizer=False)
    baseline = measure_tflite(
        to_tflite(baseline_model, "float"),
        x_test,
        y_test,
        workdir,
        f"{slug}_baseline.tflite",
        latency_runs=latency_runs,
        memory=measure_memory,
    )
    results_rows.append(results_row(model_name, "baseline", None, baseline, baseline))

    for target in sorted(set(sparsities) | {int8_sparsity}):
        stripped, measured_sparsity = prune_and_finetune(baseline_path, target)
        sparsity_shortfalls.append(target - measured_sparsity)
        print(f"{model_name}, {target:.0%} target: {measured_sparsity:.2%} zeros in the kernels")
        if target in sparsities:
            measured = measure_tflite(
                to_tflite(stripped, "float"),
                x_test,
                y_test,
                workdir,
                f"{slug}_{target:.2f}.tflite",
                latency_runs=latency_runs,
                memory=measure_memory,
            )
            results_rows.append(
                results_row(model_name, f"{target:.0%} sparsity", target, measured, baseline)
            )
        if target == int8_sparsity:
            int8_measured = measure_tflite(
                to_tflite(stripped, "int8", representative=x_train),
                x_test,
                y_test,
                workdir,
                f"{slug}_{target:.2f}_int8.tflite",
                latency_runs=latency_runs,
                memory=measure_memory,
            )
    results_rows.append(
        results_row(
            model_name,
            f"{int8_sparsity:.0%} sparsity + int8 PTQ",
            int8_sparsity,
            int8_measured,
            baseline,
        )
    )

max_sparsity_shortfall = max(sparsity_shortfalls)
print(
    f"{len(sparsity_shortfalls)} pruned models; largest shortfall against the target: "
    f"{max_sparsity_shortfall:.4f}"
)
assert max_sparsity_shortfall <= 0.005

# %% [markdown]
# ## Results
#
# Accuracy is LiteRT top-1 on the 10,000 test images; "zipped" is the size of a zip archive
# holding the `.tflite` file; latency is the median of `latency_runs` single-image runs on one
# thread.

# %%
results_table(results_rows)

# %%
plot_accuracy_vs_size(
    results_rows,
    label="{:.0%}",
    baseline_on_curve=True,
    title="Accuracy against zipped size; labels give the final sparsity\n"
    "(squares: with int8 quantization)",
)
plt.show()

# %% [markdown]
# ## What the sweep shows
#
# A few numbers summarize the table. The next cell computes them from the rows, so that the
# sentences below are checked against this run.

# %%
float_rows = sweep_rows(results_rows)
raw_size_change = max(
    abs(r["tflite_bytes"] - baseline_row(results_rows, r["model"])["tflite_bytes"])
    for r in float_rows
)
lowest, highest = min(sparsities), max(sparsities)
moderate = [r for r in float_rows if r["hyperparameter"] <= 0.75]
moderate_worst_accuracy_drop = max(accuracy_drop(r) for r in moderate)
lowest_sparsity_worst_drop = max(
    accuracy_drop(r) for r in float_rows if r["hyperparameter"] == lowest
)
highest_rows = {r["model"]: r for r in float_rows if r["hyperparameter"] == highest}
dense_models_highest_drop = max(accuracy_drop(highest_rows[m]) for m in ["Tutorial CNN", "MLP"])
separable_cnn_highest_drop = accuracy_drop(highest_rows["Separable CNN"])
dense_models_highest_zipped_ratio = min(
    zipped_ratio(highest_rows[m]) for m in ["Tutorial CNN", "MLP"]
)
separable_cnn_highest_zipped_ratio = zipped_ratio(highest_rows["Separable CNN"])
int8_config = f"{int8_sparsity:.0%} sparsity + int8 PTQ"
int8_rows = [find_row(results_rows, m, int8_config) for m in ARCHITECTURES]
int8_min_zipped_ratio = min(zipped_ratio(r) for r in int8_rows)
int8_dense_models_zipped_ratio = min(
    zipped_ratio(find_row(results_rows, m, int8_config)) for m in ["Tutorial CNN", "MLP"]
)
int8_worst_accuracy_drop = max(accuracy_drop(r) for r in int8_rows)
if len(sparsities) > 1:
    # Zipped size at the next higher sparsity over the size at the lower one, worst case.
    ordered = sorted(sparsities)
    higher_sparsity_size_ratio = max(
        find_row(results_rows, m, f"{b:.0%} sparsity")["size"]
        / find_row(results_rows, m, f"{a:.0%} sparsity")["size"]
        for m in ARCHITECTURES
        for a, b in zip(ordered, ordered[1:], strict=False)
    )
else:
    higher_sparsity_size_ratio = None
    higher_sparsity_size_ratio_unmeasured_reason = "this profile sweeps a single sparsity"

show_table(
    ["summary", "value"],
    [
        [
            "largest change of raw .tflite size, float pruned vs baseline",
            f"{raw_size_change} bytes",
        ],
        [
            f"largest accuracy loss at {lowest:.0%}, any model",
            f"{100 * lowest_sparsity_worst_drop:.2f} points",
        ],
        [
            "largest accuracy loss at 75% sparsity or less, any model",
            f"{100 * moderate_worst_accuracy_drop:.2f} points",
        ],
        [
            f"largest accuracy loss at {highest:.0%}, Tutorial CNN and MLP",
            f"{100 * dense_models_highest_drop:.2f} points",
        ],
        [
            f"accuracy loss at {highest:.0%}, Separable CNN",
            f"{100 * separable_cnn_highest_drop:.2f} points",
        ],
        [
            f"zipped: times smaller at {highest:.0%}, Tutorial CNN and MLP (smaller of the two)",
            f"{dense_models_highest_zipped_ratio:.2f}x",
        ],
        [
            f"zipped: times smaller at {highest:.0%}, Separable CNN",
            f"{separable_cnn_highest_zipped_ratio:.2f}x",
        ],
        [
            f"zipped: times smaller with {int8_config}, Tutorial CNN and MLP (smaller of the two)",
            f"{int8_dense_models_zipped_ratio:.2f}x",
        ],
        [
            f"zipped: times smaller with {int8_config}, smallest of the three",
            f"{int8_min_zipped_ratio:.2f}x",
        ],
        [
            f"largest accuracy loss with {int8_config}",
            f"{100 * int8_worst_accuracy_drop:.2f} points",
        ],
        [
            "zipped size at a higher sparsity / at the lower one (largest)",
            "n/a" if higher_sparsity_size_ratio is None else f"{higher_sparsity_size_ratio:.2f}",
        ],
    ],
)

# %% [markdown]
# Every pruned kernel reached its target sparsity, checked in each model before conversion.
#
# Pruning leaves the raw `.tflite` size exactly unchanged: a zero takes as many bytes as any
# other float. The gain is in the zipped column, and a higher sparsity always gives a smaller
# zipped file. At 90% sparsity the tutorial CNN and the MLP zip at least 4.5x smaller than their
# baselines. The separable CNN gains less, because its biases, its small depthwise kernels and
# the graph itself make up a larger share of a much smaller file.
#
# The accuracy cost grows with sparsity, and faster for compact models. At 50% sparsity no model
# loses more than 1 point, and up to 75% none loses more than 4 points. At 90% sparsity the tutorial CNN
# and the MLP lose less than 10 points, while the separable CNN, whose few weights each carry more
# of the work, loses more than 25 points after two epochs of fine-tuning. For compact models,
# prune less, skip the layers with the fewest weights, or fine-tune longer.
#
# Pruning and quantization multiply: with 80% sparsity and int8 quantization, the tutorial CNN and
# the MLP zip at least 8x smaller than their float baselines, and even the separable CNN at least
# 2.5x smaller.
#
# Pruning alone is not expected to make inference faster: the kernels stay dense, and LiteRT
# computes with them as before. The latency column is noisy on this shared machine, so no
# conclusion is drawn from it here.
#
# ## Published results
#
# For scale, the TFMOT pruning overview publishes ImageNet results that this machine cannot
# reproduce: MobileNetV1 at 71.04% top-1 dense and 70.84% at 50% sparsity; InceptionV3 at 78.1%
# dense, and 78.0%, 76.1% and 74.6% at 50%, 75% and 87.5% sparsity.
