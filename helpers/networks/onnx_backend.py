"""Running a trained U-Net with ONNX Runtime on the CPU, where it is about twice as fast as eager PyTorch.

Measured on the 2-core machine (batch 1): the mask model at 256 px 76 ms in eager PyTorch,
42 ms in ONNX Runtime; the generator at 128 px 28 ms and 12 ms. The network is exported
in memory when a Restorer is built with backend="onnx" (a few seconds), with any batch,
height and width allowed, and `OnnxNet` is called like the torch module it replaces.
On a GPU, keep backend="torch".
"""
from __future__ import annotations

import io
import os
import warnings

import numpy as np
import torch


class OnnxNet:
    """A torch module exported to ONNX and run by ONNX Runtime; call it with a (N, C, H, W) float tensor."""

    def __init__(self, module: torch.nn.Module, in_channels: int, threads: int | None = None):
        import onnxruntime as ort

        buf = io.BytesIO()
        example = torch.zeros(1, in_channels, 64, 64)
        with warnings.catch_warnings():  # the exporter's tracer warnings are about Python control flow in smp
            warnings.simplefilter("ignore")
            torch.onnx.export(module.eval(), example, buf, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "y": {0: "n", 2: "h", 3: "w"}},
                              opset_version=17, dynamo=False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        # Idle ORT threads spin by default and then starve the PyTorch, OpenCV and PNG work
        # between calls (docs/design_notes.md has the measurement).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        self.session = ort.InferenceSession(buf.getvalue(), options, providers=["CPUExecutionProvider"])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = self.session.run(None, {"x": np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)})[0]
        return torch.from_numpy(out)
