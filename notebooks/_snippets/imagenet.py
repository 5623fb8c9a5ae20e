"""An ImageNet model: torchvision's pretrained MobileNetV2 rebuilt as a functional Keras model with
its published weights, and a classifier that reuses its features on Fashion-MNIST.

The weights are torchvision's `mobilenet_v2-b0353104.pth`, downloaded with `keras.utils.get_file`
(checked by its SHA-256) and read without PyTorch: a restricted unpickler accepts the few names a
checkpoint of tensors needs and nothing else. Needs `models` (Fashion-MNIST) included before it.
"""

import pickle
import struct
from collections import OrderedDict

import numpy as np
import tensorflow as tf
import tf_keras as keras

MOBILENET_V2_URL = "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth"
MOBILENET_V2_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision's input normalization, RGB in [0, 1]
IMAGENET_STD = (0.229, 0.224, 0.225)
# (expansion, output channels, repeats, first stride) of each stage: MobileNetV2's Table 2
MOBILENET_V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1))
MOBILENET_V2_STAGES += ((6, 160, 3, 2), (6, 320, 1, 1))

# ---------------------------------------------------------------- a PyTorch checkpoint, no PyTorch

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # the first record of torch.save's pre-1.6 format


class _TensorRecord:
    """Where a tensor's values are: its storage, offset, shape and strides (in elements)."""

    def __init__(self, storage, offset, shape, strides, *_):
        self.storage, self.offset, self.shape, self.strides = storage, offset, shape, strides


class _CheckpointUnpickler(pickle.Unpickler):
    """Unpickles a `state_dict` of tensors; any other class in the file is refused."""

    def __init__(self, handle):
        super().__init__(handle)
        self.storages = {}

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _TensorRecord
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a checkpoint")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, size = pid[:5]
        if kind != "storage":
            raise pickle.UnpicklingError(f"unknown persistent record {kind!r}")
        self.storages[key] = (_STORAGE_DTYPES[storage_type], size)
        return key


def read_torch_checkpoint(path: str) -> dict:
    """The tensors of a `torch.save` file of the legacy (pre-1.6, not zip) format, by name, as
    NumPy arrays: magic number, protocol, system info, the pickled `state_dict` whose tensors
    point into storages, the storages' keys, then each storage's raw little-endian values."""
    with open(path, "rb") as handle:
        if pickle.load(handle) != _LEGACY_MAGIC:
            raise ValueError(f"{path} is not a legacy torch.save file")
        pickle.load(handle), pickle.load(handle)  # protocol version, system info
        unpickler = _CheckpointUnpickler(handle)
        state = unpickler.load()
        storages = {}
        for key in pickle.load(handle):
            dtype, size = unpickler.storages[key]
            (count,) = struct.unpack("<q", handle.read(8))
            storages[key] = np.frombuffer(handle.read(count * np.dtype(dtype).itemsize), dtype)
    tensors = {}
    for name, record in state.items():
        flat = storages[record.storage][record.offset :]
        step = flat.itemsize
        tensors[name] = np.lib.stride_tricks.as_strided(
            flat, shape=tuple(record.shape), strides=[s * step for s in record.strides]
        ).copy()
    return tensors


def mobilenet_v2_checkpoint() -> dict:
    """torchvision's MobileNetV2 ImageNet weights, downloaded once into the Keras cache
    (`~/.keras/models`) and checked against their SHA-256."""
    path = keras.utils.get_file(
        "mobilenet_v2-b0353104.pth",
        MOBILENET_V2_URL,
        file_hash=MOBILENET_V2_SHA256,
        hash_algorithm="sha256",
        cache_subdir="models",
    )
    return read_torch_checkpoint(path)


# ---------------------------------------------------------------- MobileNetV2 in Keras


def _conv_bn(x, prefix: str, filters: int, kernel: int, stride: int, groups: bool, relu: bool):
    """Convolution (depthwise if `groups`), batch normalization, ReLU6 if `relu`; padded as
    PyTorch pads (one pixel on every side), not as Keras' "same" (which pads only after)."""
    if kernel > 1:
        x = keras.layers.ZeroPadding2D(kernel // 2, name=f"{prefix}_pad")(x)
    if groups:
        x = keras.layers.DepthwiseConv2D(kernel, stride, use_bias=False, name=prefix)(x)
    else:
        x = keras.layers.Conv2D(filters, kernel, stride, use_bias=False, name=prefix)(x)
    x = keras.layers.BatchNormalization(epsilon=1e-5, name=f"{prefix}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{prefix}_relu")(x) if relu else x


def mobilenet_v2_features(size: int = 224) -> keras.Model:
    """MobileNetV2 (width 1.0) up to its global average pool, layer by layer as torchvision
    builds it; layer names are the checkpoint's (`features.3.conv.1.0` is `features_3_conv_1`)."""
    inputs = keras.Input((size, size, 3), name="image")
    x = _conv_bn(inputs, "features_0", 32, 3, 2, groups=False, relu=True)
    channels, index = 32, 1
    for expansion, filters, repeats, first_stride in MOBILENET_V2_STAGES:
        for repeat in range(repeats):
            stride, prefix, block_input = (
                (first_stride if repeat == 0 else 1),
                f"features_{index}",
                x,
            )
            step = 0
            if expansion != 1:
                x = _conv_bn(x, f"{prefix}_conv_0", channels * expansion, 1, 1, False, True)
                step = 1
            x = _conv_bn(x, f"{prefix}_conv_{step}", None, 3, stride, groups=True, relu=True)
            x = _conv_bn(x, f"{prefix}_conv_{step + 1}", filters, 1, 1, False, relu=False)
            if stride == 1 and channels == filters:
                x = keras.layers.Add(name=f"{prefix}_add")([block_input, x])
            channels, index = filters, index + 1
    x = _conv_bn(x, f"features_{index}", 1280, 1, 1, groups=False, relu=True)
    outputs = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, outputs, name="mobilenet_v2_features")


def load_mobilenet_v2(features: keras.Model, tensors: dict) -> None:
    """Set every convolution and batch normalization of `features` from the checkpoint's
    `tensors` (PyTorch layouts transposed); raise if a tensor is missing or left over."""
    used = set()

    def take(key):
        used.add(key)
        return tensors[key]

    for layer in features.layers:
        kinds = keras.layers.Conv2D | keras.layers.DepthwiseConv2D | keras.layers.BatchNormalization
        if not isinstance(layer, kinds):
            continue
        key = _torch_name(layer.name, tensors)
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights(
                [
                    take(f"{key}.{part}")
                    for part in ("weight", "bias", "running_mean", "running_var")
                ]
            )
            used.add(f"{key}.num_batches_tracked")
        elif isinstance(layer, keras.layers.DepthwiseConv2D):  # (C, 1, kh, kw) -> (kh, kw, C, 1)
            layer.set_weights([take(f"{key}.weight").transpose(2, 3, 0, 1)])
        else:  # (out, in, kh, kw) -> (kh, kw, in, out)
            layer.set_weights([take(f"{key}.weight").transpose(2, 3, 1, 0)])
    left = sorted(set(tensors) - used - {"classifier.1.weight", "classifier.1.bias"})
    if left:
        raise ValueError(f"{len(left)} checkpoint tensors left over, first {left[0]}")


def _torch_name(layer_name: str, tensors: dict) -> str:
    """The checkpoint prefix of a Keras layer: a ConvBNReLU's convolution `features_3_conv_1` is
    `features.3.conv.1.0` and its `_bn` `features.3.conv.1.1`; a block's bare last convolution
    `features_3_conv_2` is `features.3.conv.2` and its `_bn` the next index, `features.3.conv.3`."""
    bn = layer_name.endswith("_bn")
    parts = layer_name.removesuffix("_bn").split("_")
    base = ".".join(parts)
    if f"{base}.0.weight" in tensors:  # inside a ConvBNReLU: .0 convolution, .1 normalization
        return f"{base}.{1 if bn else 0}"
    if not bn:
        return base
    *head, last = parts
    return ".".join([*head, str(int(last) + 1)])


def imagenet_classifier(features: keras.Model, tensors: dict) -> keras.Model:
    """`features` with torchvision's 1000-way ImageNet classifier on top (logits)."""
    dense = keras.layers.Dense(1000, name="imagenet_logits")
    outputs = dense(features.output)
    dense.set_weights([tensors["classifier.1.weight"].T, tensors["classifier.1.bias"]])
    return keras.Model(features.input, outputs, name="mobilenet_v2_imagenet")


def pretrained_mobilenet_v2(size: int = 224):
    """(features, ImageNet classifier): MobileNetV2 with torchvision's ImageNet weights."""
    tensors = mobilenet_v2_checkpoint()
    features = mobilenet_v2_features(size)
    load_mobilenet_v2(features, tensors)
    return features, imagenet_classifier(features, tensors)


def imagenet_input(images) -> np.ndarray:
    """RGB images in [0, 1] (N, H, W, 3), normalized as torchvision's weights expect."""
    return ((np.asarray(images, np.float32) - IMAGENET_MEAN) / IMAGENET_STD).astype(np.float32)


def centre_crop(image: np.ndarray, size: int = 224) -> np.ndarray:
    """An RGB uint8 photo resized so that its short side is `size * 8 / 7` (256 for 224) and cut
    to its central `size` x `size`, in [0, 1]: ImageNet's evaluation crop."""
    short = round(size * 8 / 7)
    height, width = image.shape[:2]
    scale = short / min(height, width)
    resized = tf.image.resize(image, (round(height * scale), round(width * scale)), antialias=True)
    top, left = (resized.shape[0] - size) // 2, (resized.shape[1] - size) // 2
    return np.asarray(resized[top : top + size, left : left + size] / 255.0, np.float32)


# ---------------------------------------------------------------- transfer to Fashion-MNIST


def fashion_transfer_model(features: keras.Model, head: keras.layers.Layer) -> keras.Model:
    """A deployable classifier of raw Fashion-MNIST images (28x28x1 in [0, 1]): each image is
    resized to the features' input, repeated into three channels and normalized inside the model,
    then classified by `head` on MobileNetV2's features."""
    size = features.input.shape[1]
    inputs = keras.Input((28, 28, 1), name="item")
    x = keras.layers.Resizing(size, size, name="resize")(inputs)
    x = keras.layers.Concatenate(name="rgb")([x, x, x])
    x = keras.layers.Normalization(
        mean=IMAGENET_MEAN, variance=np.square(IMAGENET_STD), name="normalize"
    )(x)
    return keras.Model(inputs, head(features(x)), name="mobilenet_v2_fashion")
