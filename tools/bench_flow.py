"""Speed and fidelity of the live flow methods against TV-L1 at 128 px (the training features' method).

Onset/apex pairs are made by warping a real face crop (the bundled astronaut image) with small
smooth local displacements (Gaussian bumps, 0.3-1.5 px, like brow / lip movements) plus sensor
noise. For each method the 28x28 apex-flow images are compared, per channel, with the TV-L1@128
images (Pearson r) and with the encoding of the true displacement; when the bundled model is
present, also its class probabilities (total-variation distance, argmax agreement) vs TV-L1@128.

    python tools/bench_flow.py --pairs 24 --threads 1
    python tools/bench_flow.py --video ../shared/data/real_faces/WolfgangLanger_Pexels.mp4 --gap 4 --stride 5

With ``--video``, the pairs are real: the video's faces are aligned with the live aligner
(``FaceAligner``, 128 px crops) and every ``--stride``-th frame is paired with the frame ``--gap``
frames later (natural expressions, head motion and alignment residue, no micro-expressions);
there is no true flow, so only the comparisons with TV-L1@128 are printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.errors import DataError, ModelError, SourceError, command_main, fail
from realtime_mer.recognition.classifier import ApexFlowClassifier
from realtime_mer.recognition.features import apex_flow_image, encode_flow

ASSET = Path(__file__).resolve().parents[1] / "realtime_mer" / "assets" / "astronaut.png"
CANDIDATES: list[tuple[str, str, int | None, int | None]] = [
    # label, method, flow_size, DIS preset
    ("tvl1@128", "tvl1", None, None),
    ("tvl1@64", "tvl1", 64, None),
    ("tvl1-fast@128", "tvl1-fast", None, None),
    ("tvl1-fast@96", "tvl1-fast", 96, None),
    ("dis-ultrafast@128", "dis", None, cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST),
    ("dis-fast@128", "dis", None, cv2.DISOPTICAL_FLOW_PRESET_FAST),
    ("dis-medium@128", "dis", None, cv2.DISOPTICAL_FLOW_PRESET_MEDIUM),
    ("dis-medium@64", "dis", 64, cv2.DISOPTICAL_FLOW_PRESET_MEDIUM),
    ("farneback@128", "farneback", None, None),
    ("farneback@64", "farneback", 64, None),
]


def face_crop(size: int = 128) -> np.ndarray:
    """The astronaut's face as a (size, size) uint8 grayscale crop."""
    img = cv2.imread(str(ASSET), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise fail(DataError, f"{ASSET} not found", "reinstall realtime-mer (the demo portrait ships with it)")
    return cv2.resize(img[45:195, 165:315], (size, size), interpolation=cv2.INTER_AREA)


def synthetic_pair(face: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(onset, apex, true flow): apex = onset warped by a few smooth local bumps, both with noise."""
    h, w = face.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    flow = np.zeros((h, w, 2), np.float32)
    for _ in range(int(rng.integers(2, 5))):
        cy, cx = rng.uniform(0.2, 0.8, 2) * (h, w)
        sigma = rng.uniform(0.06, 0.15) * w
        amp = rng.uniform(0.3, 1.5) * np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)])
        g = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
        flow += g[..., None] * amp.astype(np.float32)
    base = face.astype(np.float32)
    apex = cv2.remap(base, xx - flow[..., 0], yy - flow[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    noise = lambda: rng.normal(0, 1.0, face.shape).astype(np.float32)  # noqa: E731
    onset_u8 = np.clip(base + noise(), 0, 255).astype(np.uint8)
    apex_u8 = np.clip(apex + noise(), 0, 255).astype(np.uint8)
    return onset_u8, apex_u8, flow


def video_pairs(path: Path, gap: int, stride: int, limit: int) -> list[tuple[np.ndarray, np.ndarray, None]]:
    """(crop t, crop t + gap, None) of aligned 128 px face crops of a video, every ``stride`` frames."""
    from mer_lab.evaluation.alignment import run_aligner
    from mer_lab.evaluation.spot_bench import read_video
    from realtime_mer.config import FaceConfig

    frames, fps = read_video(path)
    crops = run_aligner(frames, FaceConfig(), fps=fps or 30.0).crops
    pairs = [(a, b, None) for t in range(0, len(crops) - gap, stride)
             if (a := crops[t]) is not None and (b := crops[t + gap]) is not None]
    if not pairs:
        raise fail(SourceError, f"no frame pair of {path} has a face in both frames", "try another video or --gap")
    return pairs[:limit] if limit > 0 else pairs


def corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r of two arrays (0 when either is constant)."""
    x, y = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


@command_main("bench_flow.py")
def main() -> None:
    """Run the benchmark and print a table (and JSON with --json)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=None, help="number of pairs (default: 24 synthetic; --video: all)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--onnx", type=Path, default=None, help="the apex-flow model to compare with (default: the bundled one)")
    ap.add_argument("--video", type=Path, default=None, help="pairs from this video's aligned faces instead of synthetic ones")
    ap.add_argument("--gap", type=int, default=4, help="--video: frames between the two crops of a pair")
    ap.add_argument("--stride", type=int, default=5, help="--video: frames between pair starts")
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    if args.video is not None:
        if not args.video.is_file():
            raise fail(SourceError, f"video {args.video} not found", "give the path of a video file")
        pairs = video_pairs(args.video, args.gap, args.stride, args.pairs or 0)
        truth = None
        print(f"{len(pairs)} real pairs from {args.video.name} (gap {args.gap}, stride {args.stride})")
    else:
        rng = np.random.default_rng(args.seed)
        face = face_crop()
        pairs = [synthetic_pair(face, rng) for _ in range(args.pairs or 24)]
        truth = [encode_flow(f) for _, _, f in pairs]
    import realtime_mer.recognition.features as feats

    try:
        clf: ApexFlowClassifier | None = ApexFlowClassifier(args.onnx)
    except ModelError:
        if args.onnx is not None:
            raise
        clf = None
    results: dict[str, dict[str, float]] = {}
    ref: list[np.ndarray] = []
    ref_p = np.zeros(0)
    for label, method, size, preset in CANDIDATES:
        if preset is not None:
            feats.PARAMS = feats.FlowParams(dis_preset=preset)
        times, imgs = [], []
        for onset, apex, _ in pairs:
            t0 = time.perf_counter()
            imgs.append(apex_flow_image(onset, apex, method=method, flow_size=size))
            times.append(time.perf_counter() - t0)
        feats.PARAMS = feats.FlowParams()
        if label == "tvl1@128":
            ref = imgs
        row = {"ms_median": 1000 * float(np.median(times))}
        if clf is not None:  # does the bundled model see the same thing as with TV-L1@128?
            p = clf.predict_proba(np.stack(imgs))
            ref_p = p if label == "tvl1@128" else ref_p
            row["model_mean_abs_dp"] = float(np.abs(p - ref_p).sum(1).mean() / 2)
            row["model_argmax_agree"] = float((p.argmax(1) == ref_p.argmax(1)).mean())
        for c, name in enumerate(("u", "v", "strain")):
            row[f"r_{name}_vs_tvl1"] = float(np.mean([corr(i[..., c], r[..., c]) for i, r in zip(imgs, ref, strict=True)]))
            if truth is not None:
                row[f"r_{name}_vs_true"] = float(np.mean([corr(i[..., c], t[..., c]) for i, t in zip(imgs, truth, strict=True)]))
        results[label] = row
    head = f"{'method':20s} {'ms':>7s}  r vs TV-L1@128 (u v strain)   r vs true (u v strain)   model vs TV-L1@128 (TV, agree)"
    print(head)
    for label, r in results.items():
        model = f"   {r['model_mean_abs_dp']:.3f} {r['model_argmax_agree']:.2f}" if "model_mean_abs_dp" in r else ""
        true = (f"{r['r_u_vs_true']:.3f} {r['r_v_vs_true']:.3f} {r['r_strain_vs_true']:.3f}" if "r_u_vs_true" in r
                else f"{'-':^17s}")
        print(f"{label:20s} {r['ms_median']:7.1f}  {r['r_u_vs_tvl1']:.3f} {r['r_v_vs_tvl1']:.3f} {r['r_strain_vs_tvl1']:.3f}"
              f"          {true}{model}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
