#!/usr/bin/env python
"""Export a registered recognition model to ONNX (opset 17, IR 8, dynamic batch) and check it against torch.

    python tools/export_onnx.py --model apexflow --checkpoint runs/apexflow-all/model.safetensors --out model.onnx
    python tools/export_onnx.py --model all --out exported/        # every registered model (random weights)

Prints the max |torch - ONNX Runtime| on random inputs and, for models whose input contract matches the
MEGC 2019 composite flow set (apexflow), on its real inputs; exits 2 when it is not below 1e-4.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import onnx

from mer_lab.export.model_export import PARITY_TOL, export_model
from mer_lab.models import available_models
from realtime_mer.errors import ModelError, command_main, fail


def export_one(name: str, out: Path, checkpoint: Path | None, data_root: Path | None) -> None:
    """Export ``name`` to ``out`` and print one line; ModelError when parity fails."""
    path, par = export_model(name, out, checkpoint, data_root=data_root)
    proto = onnx.load(str(path), load_external_data=False)
    print(f"{name}: {path} ({path.stat().st_size} bytes, opset {proto.opset_import[0].version}, "
          f"IR {proto.ir_version}); {par.describe()}")
    if not par.ok(PARITY_TOL):
        raise fail(ModelError, f"{name}: ONNX output differs from torch by {par.worst:.1e} (>= {PARITY_TOL:g})",
                   "check the model's export path (unsupported op or training-mode layer)")


@command_main("export_onnx.py")
def main(argv: list[str] | None = None) -> int:
    """Export and check; expected failures print one line and exit 2."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=[*available_models(), "all"])
    ap.add_argument("--checkpoint", type=Path, help="trained .safetensors (default: random weights, for parity only)")
    ap.add_argument("--out", type=Path, required=True, help="the .onnx file (a folder with --model all)")
    ap.add_argument("--data-root", type=Path, help="MEGC 2019 composite flow set for the real-input parity check")
    args = ap.parse_args(argv)
    if args.model == "all":
        if args.checkpoint is not None:
            raise fail(ModelError, "--checkpoint cannot be used with --model all", "export one model at a time")
        for name in available_models():
            export_one(name, args.out / f"{name}.onnx", None, args.data_root)
    else:
        export_one(args.model, args.out, args.checkpoint, args.data_root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
