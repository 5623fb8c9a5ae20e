"""Fashion-MNIST data and the three small models every technique is measured on.

`tutorial_cnn` is the model of the TFMOT tutorials; `mlp` and `separable_cnn` add a dense-only and a
mobile-style (depthwise-separable) architecture, so results cover more than one kind of layer.
"""

import numpy as np
import tf_keras as keras

CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def load_fashion_mnist(train_samples: int = 60000):
    """Fashion-MNIST scaled to [0, 1] as float32: the first `train_samples` training images, all test images."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    x_train = (x_train[:train_samples] / 255.0).astype(np.float32)
    x_test = (x_test / 255.0).astype(np.float32)
    return (x_train, y_train[:train_samples]), (x_test, y_test)


def tutorial_cnn() -> keras.Model:
    """The TFMOT tutorials' CNN: one 3x3 convolution with 12 filters, max pooling, a dense classifier."""
    return keras.Sequential(
        [
            keras.layers.InputLayer(input_shape=(28, 28)),
            keras.layers.Reshape(target_shape=(28, 28, 1)),
            keras.layers.Conv2D(12, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ],
        name="tutorial_cnn",
    )


def mlp() -> keras.Model:
    """A dense-only network: 784 -> 128 -> 10."""
    return keras.Sequential(
        [
            keras.layers.InputLayer(input_shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10),
        ],
        name="mlp",
    )


def separable_cnn() -> keras.Model:
    """A small mobile-style network: a strided convolution, then depthwise + pointwise blocks."""
    return keras.Sequential(
        [
            keras.layers.InputLayer(input_shape=(28, 28)),
            keras.layers.Reshape(target_shape=(28, 28, 1)),
            keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
            keras.layers.DepthwiseConv2D(3, padding="same", activation="relu"),
            keras.layers.Conv2D(32, 1, activation="relu"),
            keras.layers.DepthwiseConv2D(3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(64, 1, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10),
        ],
        name="separable_cnn",
    )


ARCHITECTURES = {"Tutorial CNN": tutorial_cnn, "MLP": mlp, "Separable CNN": separable_cnn}


def compile_for_training(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Adam and cross-entropy on logits, the setup every tutorial here trains with."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def keras_accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of a Keras model (a fraction)."""
    predictions = np.argmax(model.predict(x, batch_size=512, verbose=0), axis=1)
    return float(np.mean(predictions == np.asarray(y).reshape(-1)))  # labels as (n,) or (n, 1)
