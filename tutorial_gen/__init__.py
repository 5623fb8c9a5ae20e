"""tutorial_gen: generate, execute and verify the TensorFlow Model Optimization tutorials."""

__version__ = "0.1.0"
