"""One exported network run with LiteRT: loaded from its .tflite, named by its sha256, fed batches of
any size. Imports only numpy and ai_edge_litert (TensorFlow would cost each worker seconds and
hundreds of MiB)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter


class LiteRTNetwork:
    def __init__(self, path: str | Path, *, num_threads: int = 2):
        content = Path(path).read_bytes()
        self._interpreter = Interpreter(model_content=content, num_threads=num_threads)
        self._interpreter.allocate_tensors()
        self._input_index = self._interpreter.get_input_details()[0]["index"]
        self._output_index = self._interpreter.get_output_details()[0]["index"]
        self._batch_size = 0
        self.version = hashlib.sha256(content).hexdigest()[:12]  # first 12 hex of the artifact's sha256

    def run(self, batch: np.ndarray) -> np.ndarray:
        """The network's output for a float32 batch shaped like its input (a trailing channel added)."""
        # Re-allocating costs little next to a full batch; reused while the size repeats.
        if len(batch) != self._batch_size:
            self._interpreter.resize_tensor_input(self._input_index, [len(batch), *batch.shape[1:], 1])
            self._interpreter.allocate_tensors()
            self._batch_size = len(batch)
        self._interpreter.set_tensor(self._input_index, batch[..., None])
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output_index).copy()
