"""ONNX export of a trained model (dynamic batch axis, opset 17) and a torch-vs-onnxruntime parity check."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from mer_lab.models import InputContract

OPSET = 17
IR_VERSION = 8  # the IR that carries opset 17 (ONNX 1.12): ONNX Runtime >= 1.12 and TensorRT >= 8.6 parse it
_MAX_OPSET_FOR_IR = 18  # opsets <= 18 are valid under IR 8
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
INTENSITY_NAME = "intensity"  # second output of a model with ``forward_all`` (tcgru): (batch, T) in [0, 1]


class _WithIntensity(nn.Module):
    """Exports both heads of a model with ``forward_all`` (logits, per-step intensity)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.forward_all(x)  # type: ignore[operator]


def export_onnx(model: nn.Module, path: Path, contract: InputContract, opset: int = OPSET,
                metadata: dict[str, str] | None = None) -> Path:
    """Export ``model`` to ``path`` with input ``input`` (batch, *contract.shape) and output ``logits`` (batch, C)
    (plus ``intensity`` (batch, T) for a model with ``forward_all``); ``metadata`` joins ``classes`` and the contract."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(2, *contract.shape, dtype=torch.float32)
    both = hasattr(model, "forward_all")  # tcgru: the intensity head is exported too (its live per-frame trace)
    net = _WithIntensity(model) if both else model
    outputs = [OUTPUT_NAME, INTENSITY_NAME] if both else [OUTPUT_NAME]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net.eval(), (dummy,), str(path), dynamo=False, opset_version=opset, do_constant_folding=True,
            input_names=[INPUT_NAME], output_names=outputs,
            dynamic_axes={name: {0: "batch"} for name in (INPUT_NAME, *outputs)},
        )
    proto = onnx.load(str(path))
    if opset <= _MAX_OPSET_FOR_IR:
        proto.ir_version = IR_VERSION  # pinned: newer onnx/torch releases default to IRs older runtimes reject
    props = {"classes": json.dumps(list(contract.classes)), "input_contract": json.dumps(contract.to_dict()),
             **(metadata or {})}
    for k, v in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return path


def onnx_max_abs_diff(model: nn.Module, path: Path, x: np.ndarray) -> float:
    """Max |torch - onnxruntime| of the outputs for input ``x`` (float32, batch first)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = model.eval()(torch.from_numpy(x)).numpy()
    got = sess.run(None, {INPUT_NAME: x})[0]
    return float(np.abs(ref - got).max())
