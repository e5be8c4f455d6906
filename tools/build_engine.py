#!/usr/bin/env python
"""Build (or confirm) the TensorRT engine of an ONNX model for this machine's GPU and TensorRT version.

    python tools/build_engine.py --onnx realtime_mer/assets/apexflow.onnx --precision fp16 --max-batch 8
    python tools/build_engine.py --onnx calibration/apexflow.int8.onnx --precision int8 --model apexflow

Writes engines/<model>-<onnx sha256[:12]>/<gpu>_sm<cc>_trt<version>_<precision>.plan and its JSON sidecar,
and keeps engines/<gpu>_sm<cc>_trt<version>.timing.cache. fp16 converts the ONNX to FP16 first; int8 needs
the Q/DQ ONNX written by tools/calibrate.py (TensorRT 11 has no FP16/INT8 builder flags).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import onnx

from mer_lab.models import available_models, input_contract
from realtime_mer.engine import BuildOptions, EngineKey, build_engine, find_engine
from realtime_mer.engine.keys import PRECISIONS
from realtime_mer.errors import ModelError, command_main, fail
from realtime_mer.runners.gpu import probe_gpu
from realtime_mer.runners.tensorrt import import_tensorrt, trt_version


def model_name(onnx_path: Path, given: str | None) -> str:
    """``--model``, else the ``model`` entry of the ONNX metadata, else the file stem."""
    if given:
        return given
    meta = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
    return meta.get("model") or onnx_path.stem.split(".")[0]


@command_main("build_engine.py")
def main(argv: list[str] | None = None) -> int:
    """Build or confirm the engine; expected failures print one line and exit 2."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", type=Path, required=True)
    ap.add_argument("--precision", choices=PRECISIONS, default="fp16")
    ap.add_argument("--max-batch", type=int, default=8)
    ap.add_argument("--opt-batch", type=int, default=1)
    ap.add_argument("--workspace-mb", type=int, default=1024)
    ap.add_argument("--model", help="registry name (default: from the ONNX metadata)")
    ap.add_argument("--engines-dir", type=Path, default=Path("engines"))
    ap.add_argument("--force", action="store_true", help="rebuild even when a matching engine exists")
    args = ap.parse_args(argv)
    if not args.onnx.is_file():
        raise fail(ModelError, f"ONNX model {args.onnx} not found", "export it with tools/export_onnx.py")
    name = model_name(args.onnx, args.model)
    contract = input_contract(name).to_dict() if name in available_models() else None
    gpu = probe_gpu()
    if not gpu.available:
        raise fail(ModelError, f"cannot build a TensorRT engine here: {gpu.describe()}",
                   "build on the machine (GPU model and TensorRT version) that will run it")
    trt = import_tensorrt()
    options = BuildOptions(args.precision, args.max_batch, args.opt_batch, args.workspace_mb)
    key = EngineKey.create(name, args.onnx, args.precision, gpu, trt_version(trt))
    found = find_engine(key, args.engines_dir)
    if found.hit and not args.force:
        print(f"{found.path} is up to date ({gpu.describe()}, TensorRT {key.trt_version}, {args.precision})")
        return 0
    t0 = time.perf_counter()
    path = build_engine(key, args.onnx, args.engines_dir, gpu, options, contract, trt)
    side = json.loads(path.with_suffix(".json").read_text())
    print(f"{path} ({side['plan_bytes']} bytes, {args.precision}, batch 1..{args.max_batch}) built in "
          f"{time.perf_counter() - t0:.1f} s for {gpu.describe()}, TensorRT {key.trt_version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
