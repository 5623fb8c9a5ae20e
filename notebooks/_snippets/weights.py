"""Reading the weights back out of a `.tflite` file, to verify structure after conversion.

A property of a model (sparsity, clusters, a 2:4 pattern) only matters if it survives into the file
you ship, so the tutorials check it there rather than in Keras.
"""

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from tensorflow.lite.tools import flatbuffer_utils


def tflite_kernels(tflite_model: bytes, min_size: int = 16) -> dict:
    """The constant weight tensors (2-D or more, at least `min_size` values) of a `.tflite`, by name."""
    flatbuffer = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite_model))
    interpreter = Interpreter(model_content=tflite_model)
    interpreter.allocate_tensors()
    kernels = {}
    for index, tensor in enumerate(flatbuffer.subgraphs[0].tensors):
        data = flatbuffer.buffers[tensor.buffer].data
        if data is None or len(tensor.shape) < 2 or int(np.prod(tensor.shape)) < min_size:
            continue
        kernels[tensor.name.decode("utf-8")] = np.array(interpreter.get_tensor(index))
    return kernels


def unique_values(kernel: np.ndarray) -> int:
    """How many distinct values a weight tensor holds (a clustered kernel holds few)."""
    return int(np.unique(kernel).size)


def fraction_of_2_4_blocks(kernel: np.ndarray, axis: int = -1) -> float:
    """The fraction of blocks of four consecutive weights (along `axis`) with at least two zeros."""
    values = np.moveaxis(np.asarray(kernel), axis, -1)
    length = values.shape[-1] - values.shape[-1] % 4
    blocks = values[..., :length].reshape(-1, 4)
    if blocks.size == 0:
        return 0.0
    return float(np.mean(np.sum(blocks == 0, axis=1) >= 2))
