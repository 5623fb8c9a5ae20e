"""Object detection: the pretrained MTCNN face detector's output network (O-Net) with its
published weights, and a small single-shot detector trained on scenes composed of real
Fashion-MNIST items, with what measures them (agreement with the float model, mAP@0.5).

Needs the `measure` and `convert` snippets (LiteRT sizes, latency, memory) included before it,
and `models` (Fashion-MNIST) for the scenes.
"""

import hashlib
import importlib.metadata

import joblib
import numpy as np
import tensorflow as tf
import tf_keras as keras
from ai_edge_litert.interpreter import Interpreter
from skimage import data

# ---------------------------------------------------------------- LiteRT outputs, measuring a file


def tflite_outputs(model: bytes, x: np.ndarray, batch_size: int = 256) -> dict[str, np.ndarray]:
    """Every output of a one-input `.tflite` model on all of `x`, as float arrays keyed by the
    Keras output names (the signature's names: the converter's output order is not Keras')."""
    interpreter = Interpreter(model_content=model, num_threads=1)
    runner = interpreter.get_signature_runner()
    ((input_name, input_detail),) = runner.get_input_details().items()
    output_details = runner.get_output_details()
    batches = []
    for start in range(0, len(x), batch_size):
        batch = _to_input_dtype(np.asarray(x[start : start + batch_size], np.float32), input_detail)
        outputs = runner(**{input_name: batch})
        batches.append({k: _from_output(v, output_details[k]) for k, v in outputs.items()})
    return {name: np.concatenate([b[name] for b in batches]) for name in output_details}


def measure_detector(tflite_model: bytes, score, x_test, folder: str, name: str, **options):
    """The deployment metrics of `measure_tflite` for a detector: `score(outputs)` of its outputs
    on `x_test` (a fraction: face accuracy, mAP) takes the place of accuracy. Options:
    `latency_runs` (200) and `memory` (True)."""
    path = save_bytes(tflite_model, folder, name)
    keep_model(tflite_model, name)
    timing = tflite_latency(tflite_model, x_test[0], runs=options.get("latency_runs", 200))
    memory = options.get("memory", True)
    return {
        "tflite_bytes": file_size(path),
        "size": zipped_size(path),
        "accuracy": float(score(tflite_outputs(tflite_model, x_test))),
        "latency_ms": timing["median_ms"],
        "latency_p10_ms": timing["p10_ms"],
        "latency_p90_ms": timing["p90_ms"],
        "memory_bytes": tflite_runtime_memory(tflite_model, x_test[0]) if memory else None,
        "tflite_file": name,
        "tflite_sha256": hashlib.sha256(tflite_model).hexdigest(),
    }


# ---------------------------------------------------------------- MTCNN's O-Net, pretrained

ONET_OUTPUTS = ("box", "landmarks", "face")  # the Keras output names, in the weights' order


def onet() -> keras.Model:
    """MTCNN's output network as a functional Keras model: a 48x48 RGB patch in; out the box
    offsets (x1, y1, x2, y2, in patch sizes), 5 landmarks (5 x, then 5 y, in patch sizes) and the
    [not face, face] probabilities."""
    patch = keras.Input((48, 48, 3), name="patch")
    x = patch
    blocks = [(32, 3, (3, "same")), (64, 3, (3, "valid")), (64, 3, (2, "same")), (128, 2, None)]
    for index, (filters, kernel, pool) in enumerate(blocks, start=1):
        x = keras.layers.Conv2D(filters, kernel, name=f"conv{index}")(x)
        x = keras.layers.PReLU(shared_axes=[1, 2], name=f"prelu{index}")(x)
        if pool:
            size, padding = pool
            x = keras.layers.MaxPooling2D(size, 2, padding=padding, name=f"pool{index}")(x)
    x = keras.layers.Permute((2, 1, 3), name="permute")(x)  # the weights flatten columns first
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.PReLU(name="prelu5")(keras.layers.Dense(256, name="fc5")(x))
    heads = [
        keras.layers.Dense(4, name="box")(x),
        keras.layers.Dense(10, name="landmarks")(x),
        keras.layers.Dense(2, activation="softmax", name="face")(x),
    ]
    return keras.Model(patch, heads, name="onet")


def pretrained_onet() -> keras.Model:
    """`onet()` with the weights the `mtcnn` package ships (`mtcnn/assets/weights/onet.lz4`,
    a joblib list of arrays in layer order), read without importing the package."""
    path = importlib.metadata.distribution("mtcnn").locate_file("mtcnn/assets/weights/onet.lz4")
    arrays = list(joblib.load(path))
    model = onet()
    for layer in model.layers:
        count = len(layer.weights)
        if count:
            layer.set_weights(arrays[:count])
            arrays = arrays[count:]
    if arrays:
        raise ValueError(f"{len(arrays)} arrays of onet.lz4 left over: the layers do not match")
    return model


def face_patches():
    """The 200 real 25x25 patches of scikit-image's `lfw_subset()` (the first 100 faces from
    Labeled Faces in the Wild, the last 100 not faces) as O-Net inputs: 48x48, grey as RGB,
    normalized as MTCNN does ((pixel - 127.5) / 128); and their labels (1 face, 0 not)."""
    patches = data.lfw_subset().astype(np.float32)[..., None]
    rgb = np.repeat(tf.image.resize(patches, (48, 48)).numpy(), 3, axis=-1)
    labels = np.array([1] * 100 + [0] * 100, dtype=np.int64)
    return ((rgb * 255.0 - 127.5) / 128.0).astype(np.float32), labels


def calibration_patches(count: int, seed: int) -> np.ndarray:
    """`count` O-Net inputs to calibrate full-integer quantization with, none of them from the
    test patches: random square crops of scikit-image's colour photos (the astronaut, which holds
    a face, a cat, a cup of coffee, a rocket), resized to 48x48 and normalized like the patches."""
    rng = np.random.default_rng(seed)
    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    crops = []
    for index in range(count):
        photo = photos[index % len(photos)]
        side = int(rng.integers(40, min(photo.shape[:2]) // 2))
        top, left = (int(rng.integers(0, extent - side)) for extent in photo.shape[:2])
        crops.append(tf.image.resize(photo[top : top + side, left : left + side], (48, 48)).numpy())
    return ((np.stack(crops) - 127.5) / 128.0).astype(np.float32)


def face_score(reference: dict, labels: np.ndarray):
    """The score `measure_detector` takes for O-Net: face / non-face accuracy on the patches."""
    return lambda outputs: face_agreement(outputs, reference, labels)["face_accuracy"]


def patch_boxes(offsets: np.ndarray) -> np.ndarray:
    """O-Net's box offsets applied to the 48x48 patch itself, as MTCNN refines a candidate:
    (x1, y1, x2, y2) in pixels."""
    return np.array([0, 0, 47, 47], np.float32) + offsets * 48


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of the boxes (x1, y1, x2, y2) of `a` and `b`, pair by pair."""
    width = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    height = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = width * height
    area = lambda box: (box[..., 2] - box[..., 0]) * (box[..., 3] - box[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def face_agreement(outputs: dict, reference: dict, labels: np.ndarray) -> dict[str, float]:
    """How a compressed O-Net's `outputs` agree with the float model's `reference` on the faces:
    the mean and worst IoU of their refined boxes, the mean landmark distance in pixels (of the
    48-pixel patch), the largest change of the face probability; with the face accuracy."""
    faces = labels == 1
    iou = box_iou(patch_boxes(outputs["box"][faces]), patch_boxes(reference["box"][faces]))
    shift = (outputs["landmarks"] - reference["landmarks"])[faces] * 48
    distance = np.hypot(shift[:, :5], shift[:, 5:])
    return {
        "face_accuracy": float(np.mean(np.argmax(outputs["face"], axis=1) == labels)),
        "box_iou_mean": float(np.mean(iou)),
        "box_iou_min": float(np.min(iou)),
        "landmark_px": float(np.mean(distance)),
        "face_probability_change": float(np.max(np.abs(outputs["face"] - reference["face"]))),
    }


# ---------------------------------------------------------------- composed scenes, a grid detector

CANVAS, GRID = 64, 8  # a 64x64 scene, read as an 8x8 grid of 8-pixel cells
CELL = CANVAS // GRID


def compose_scenes(images, labels, count: int, seed: int, sizes=(18, 32), most=3):
    """`count` 64x64 scenes of 1 to `most` real Fashion-MNIST items each, scaled to `sizes`
    pixels and placed without overlapping; their exact boxes (x1, y1, x2, y2: the item's inked
    pixels) and classes. Returns (scenes of shape (count, 64, 64, 1), [(boxes, classes)] per scene)."""
    rng = np.random.default_rng(seed)
    scenes = np.zeros((count, CANVAS, CANVAS, 1), np.float32)
    truth = []
    for index in range(count):
        boxes, classes = [], []
        for _ in range(rng.integers(1, most + 1)):
            for _attempt in range(20):
                size = int(rng.integers(sizes[0], sizes[1] + 1))
                x, y = rng.integers(0, CANVAS - size + 1, size=2)
                if all(
                    x + size <= b[0] or b[2] <= x or y + size <= b[1] or b[3] <= y for b in boxes
                ):
                    break
            else:
                continue
            item = int(rng.integers(len(images)))
            pixels = tf.image.resize(images[item][..., None], (size, size)).numpy()
            region = scenes[index, y : y + size, x : x + size]
            np.maximum(region, np.clip(pixels, 0, 1), out=region)
            rows, cols = np.nonzero(pixels[..., 0] > 0.1)
            boxes.append([x + cols.min(), y + rows.min(), x + cols.max() + 1, y + rows.max() + 1])
            classes.append(int(labels[item]))
        truth.append((np.array(boxes, np.float32).reshape(-1, 4), np.array(classes, np.int64)))
    return scenes, truth


def grid_targets(truth, classes: int = 10) -> np.ndarray:
    """The training target of every scene: per cell, objectness, the box (centre within the
    cell, width and height as fractions of the scene) and the one-hot class of the item whose
    centre falls in it (the larger one where two do)."""
    targets = np.zeros((len(truth), GRID, GRID, 5 + classes), np.float32)
    for index, (boxes, labels) in enumerate(truth):
        order = np.argsort((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
        for (x1, y1, x2, y2), label in zip(boxes[order], labels[order], strict=True):
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            col, row = min(int(cx // CELL), GRID - 1), min(int(cy // CELL), GRID - 1)
            cell = targets[index, row, col]
            cell[:] = 0
            cell[:5] = [1, cx / CELL - col, cy / CELL - row, (x2 - x1) / CANVAS, (y2 - y1) / CANVAS]
            cell[5 + label] = 1
    return targets


def grid_detector(classes: int = 10) -> keras.Model:
    """A single-shot detector of convolutions only (so every TFMOT API applies): a 64x64 scene in,
    per cell of the 8x8 grid an objectness logit, four box logits and `classes` class logits out."""
    scene = keras.Input((CANVAS, CANVAS, 1), name="scene")
    x = scene
    for filters, strides in [(32, 2), (32, 1), (64, 2), (64, 1), (64, 2), (64, 1)]:
        x = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", activation="relu")(x)
    cells = keras.layers.Conv2D(5 + classes, 1, name="cells")(x)
    return keras.Model(scene, cells, name="grid_detector")


def detection_loss(target, predicted):
    """Objectness cross-entropy over every cell; box error and class cross-entropy where an item is."""
    present = target[..., 0]
    objectness = tf.nn.sigmoid_cross_entropy_with_logits(present, predicted[..., 0])
    box = tf.reduce_sum(tf.square(tf.sigmoid(predicted[..., 1:5]) - target[..., 1:5]), axis=-1)
    label = tf.nn.softmax_cross_entropy_with_logits(target[..., 5:], predicted[..., 5:])
    return tf.reduce_mean(objectness + present * (5.0 * box + label), axis=[1, 2])


def compile_detector(model: keras.Model, learning_rate: float = 2e-3) -> keras.Model:
    """Compile `model` with Adam and `detection_loss`; returns it."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=detection_loss)
    return model


def decode(cells: np.ndarray, threshold: float = 0.05, overlap: float = 0.5):
    """Detections of every scene from the grid output: [(boxes, classes, scores)] per scene, the
    score being objectness times class probability, overlapping ones of a class suppressed."""
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    offsets = np.stack(np.meshgrid(np.arange(GRID), np.arange(GRID)), axis=-1)  # (col, row)
    found = []
    for scene in cells:
        logits = scene[..., 5:] - scene[..., 5:].max(axis=-1, keepdims=True)
        probability = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        score = sigmoid(scene[..., 0]) * probability.max(axis=-1)
        box = sigmoid(scene[..., 1:5])
        centre = (offsets + box[..., :2]) * CELL
        half = box[..., 2:] * CANVAS / 2
        boxes = np.concatenate([centre - half, centre + half], axis=-1).reshape(-1, 4)
        classes, score = probability.argmax(axis=-1).reshape(-1), score.reshape(-1)
        keep = []
        for i in np.argsort(-score):
            if score[i] < threshold:
                break
            same = [k for k in keep if classes[k] == classes[i]]
            if not same or box_iou(boxes[same], boxes[i]).max() < overlap:
                keep.append(i)
        found.append((boxes[keep], classes[keep], score[keep]))
    return found


def mean_average_precision(found, truth, classes: int = 10, iou: float = 0.5) -> float:
    """mAP at `iou`: per class, the area under the precision-recall curve (every point,
    precision made monotone) of the detections ranked by score, a detection counting once it
    overlaps an unclaimed true box of its class by `iou`; averaged over the classes present."""
    precisions = []
    for label in range(classes):
        total = sum(int(np.sum(labels == label)) for _, labels in truth)
        if not total:
            continue
        ranked = []
        for index, (boxes, found_classes, scores) in enumerate(found):
            ranked += [
                (s, index, b)
                for b, c, s in zip(boxes, found_classes, scores, strict=True)
                if c == label
            ]
        ranked.sort(key=lambda entry: -entry[0])
        claimed, hits = set(), []
        for _, index, box in ranked:
            boxes, labels = truth[index]
            overlaps = np.where(labels == label, box_iou(boxes, box), 0) if len(boxes) else []
            best = int(np.argmax(overlaps)) if len(overlaps) else -1
            hit = best >= 0 and overlaps[best] >= iou and (index, best) not in claimed
            claimed |= {(index, best)} if hit else set()
            hits.append(hit)
        tp = np.cumsum(hits)
        recall = np.concatenate([[0], tp / total])
        precision = np.concatenate([[1], tp / np.arange(1, len(hits) + 1)])
        precision = np.maximum.accumulate(precision[::-1])[::-1]
        precisions.append(float(np.sum(np.diff(recall) * precision[1:])))
    return float(np.mean(precisions))


def scene_splits(train_scenes: int, test_scenes: int, seed: int):
    """Training scenes composed of Fashion-MNIST's training items and test scenes of its test
    items (no item is in both): ((scenes, truth), (scenes, truth))."""
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    train = compose_scenes(x_train, y_train, train_scenes, seed)
    return train, compose_scenes(x_test, y_test, test_scenes, seed + 1)


def scene_map(truth):
    """The score `measure_detector` takes for the grid detector: mAP@0.5 on the scenes of `truth`,
    from the model's one output (`cells`, or `quant_cells` once `quantize_model` wrapped it)."""

    def score(outputs):
        (cells,) = outputs.values()
        return mean_average_precision(decode(cells), truth)

    return score


def train_detector(model, scenes, truth, epochs: int, batch_size: int = 64, **options):
    """Train `model` (compiled here with `compile_detector`, at `learning_rate` if given) on the
    scenes and their truth for `epochs`, with the Keras `callbacks` given; returns it."""
    compile_detector(model, options.get("learning_rate", 2e-3))
    targets = grid_targets(truth)
    callbacks = options.get("callbacks", [])
    model.fit(scenes, targets, batch_size=batch_size, epochs=epochs, verbose=2, callbacks=callbacks)
    return model


def whole_model_refusal(api, model) -> str | None:
    """The error with which a whole-model TFMOT API (`prune_low_magnitude`, `quantize_model`,
    `cluster_weights` with its arguments bound) refuses `model`; None if it takes it."""
    try:
        api(model)
    except (ValueError, TypeError, RuntimeError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def kernels_of(model: keras.Model) -> list[np.ndarray]:
    """The kernel of every layer that has one (`Conv2D`, `Dense`), as arrays."""
    return [layer.kernel.numpy() for layer in model.layers if hasattr(layer, "kernel")]


def copy_model(model: keras.Model) -> keras.Model:
    """An independent copy of `model` with its weights: the TFMOT wrappers reuse the layers they
    wrap, so fine-tuning a wrapped model in place would change the baseline too."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def wrap_kernels(model: keras.Model, wrap, kinds=(keras.layers.Conv2D, keras.layers.Dense)):
    """A copy of `model` whose `Conv2D` and `Dense` layers (`kinds`) are wrapped with `wrap`, a
    per-layer TFMOT API, every other layer kept as it is: how TFMOT applies to a model that its
    whole-model APIs refuse for one of its layers (O-Net's `PReLU`)."""
    return keras.models.clone_model(
        copy_model(model),
        clone_function=lambda layer: wrap(layer) if isinstance(layer, kinds) else layer,
    )


def detector_measurer(score, x_test, folder: str, prefix: str, **options):
    """`measure(tflite_model, name)`: `measure_detector` with the score, the test inputs and the
    options fixed, writing the file as `<prefix>_<name>.tflite`."""
    return lambda tflite_model, name: measure_detector(
        tflite_model, score, x_test, folder, f"{prefix}_{name}.tflite", **options
    )
