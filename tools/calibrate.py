#!/usr/bin/env python
"""Calibrate a model for INT8: write a Q/DQ ONNX with onnxruntime's static quantization, check its UF1.

    python tools/calibrate.py --model apexflow --data ../shared/data/megc2019_composite_flow --split dev \
        --out calibration/apexflow.int8.onnx

--onnx defaults to the bundled realtime_mer/assets/<model>.onnx. QDQ format, symmetric int8 activations and
per-channel weights (what TensorRT's explicit quantization takes), ranges from --method over the inputs of
--data (see calibration/README.md). When --eval-data (default: the MEGC set, if --data is one) is given,
prints FP32 and INT8 UF1 on ONNX Runtime CPU for the whole set and for the samples not used to calibrate,
and exits 2 when INT8 loses more than --max-drop.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from mer_lab.datasets.megc_flow import load_megc_flow
from mer_lab.models import available_models, input_contract
from mer_lab.quantization.accuracy import ort_uf1
from mer_lab.quantization.data import SPLITS, load_calibration_inputs, split_indices
from realtime_mer.engine.int8 import CALIBRATION_METHODS, quantize_int8
from realtime_mer.errors import ModelError, command_main, fail
from realtime_mer.recognition.backend import default_onnx
from realtime_mer.recognition.features import to_model_input

UNUSED = {"dev": "held-out", "held-out": "dev"}


def evaluate(fp32: Path, int8: Path, root: Path, split: str) -> dict[str, dict[str, float]]:
    """FP32 and INT8 UF1 on the whole MEGC set and on the half not used for calibration."""
    s = load_megc_flow(root)
    x = to_model_input(s.images)
    groups = {"all": np.arange(len(x))}
    if split in UNUSED:
        groups[f"{UNUSED[split]} half (not calibrated on)"] = split_indices(s.subjects, s.datasets, UNUSED[split])
    return {g: {"n": len(ix), "fp32_uf1": ort_uf1(fp32, x[ix], s.labels[ix]),
                "int8_uf1": ort_uf1(int8, x[ix], s.labels[ix])} for g, ix in groups.items()}


@command_main("calibrate.py")
def main(argv: list[str] | None = None) -> int:
    """Calibrate, quantize, evaluate; expected failures print one line and exit 2."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=available_models())
    ap.add_argument("--data", type=Path, required=True, help=".npy/.npz, a MEGC flow folder, or a folder of PNGs")
    ap.add_argument("--split", choices=SPLITS, default="dev", help="subject half of a MEGC folder to calibrate on")
    ap.add_argument("--onnx", type=Path, help="float32 ONNX (default: the bundled model)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--method", choices=CALIBRATION_METHODS, default="minmax")
    ap.add_argument("--limit", type=int, help="at most this many calibration inputs (random subset)")
    ap.add_argument("--eval-data", type=Path, help="MEGC flow folder for the UF1 check (default: --data if it is one)")
    ap.add_argument("--max-drop", type=float, default=0.01, help="largest UF1 loss accepted (default 0.01 = 1 point)")
    args = ap.parse_args(argv)
    src = args.onnx or default_onnx(args.model)
    if not src.is_file():
        raise fail(ModelError, f"ONNX model {src} not found", f"pass --onnx or export {args.model} first")
    x = load_calibration_inputs(args.data, input_contract(args.model), args.split, args.limit)
    out = quantize_int8(src, args.out, x, method=args.method)
    print(f"{out}: INT8 Q/DQ ({args.method}, per-channel) calibrated on {len(x)} inputs from {args.data}"
          f"{f' ({args.split} subjects)' if (args.data / 'labels.csv').is_file() else ''}")
    root = args.eval_data or (args.data if (args.data / "labels.csv").is_file() else None)
    if root is None:
        return 0
    res = evaluate(src, out, root, args.split if root == args.data else "all")
    print(json.dumps(res, indent=2))
    drop = res["all"]["fp32_uf1"] - res["all"]["int8_uf1"]
    if drop > args.max_drop:
        raise fail(ModelError, f"INT8 loses {drop:.3f} UF1 (more than {args.max_drop})",
                   "calibrate on more / more representative inputs or try --method percentile")
    return 0


if __name__ == "__main__":
    sys.exit(main())
