"""Train the ``gru`` spotter on synthetic clips and write its weights + JSON sidecar.

    python tools/train_spotter.py --n-clips 48 --seconds 8 --seed 1000 --epochs 40 --out realtime_mer/assets/spotter_gru.npz

Clips (seed ``--seed`` + i, never below 1000: the benchmark uses seeds 0..49) cycle over
``--sources`` (default: the astronaut and the real face videos of ``--data``); every
``--play-every``-th video clip plays its video (natural motion) instead of holding a frame.
Rendered, aligned clips and their features are cached under ``--cache``. Every 5th clip is
held out for validation: the epoch and the hysteresis thresholds are chosen there. See
``mer_lab/training/spotter_gru.py``.

    python tools/train_spotter.py --faces tuning --clips-per-face 2 --seed 50000 --cache CACHE --out gru_played.npz

``--faces tuning`` trains on the faces benchmark's TUNING faces instead (``spot_faces.FACES``: real
face videos *played* at their own speed, plus their held / JPEG / re-encoded variants, with injected
movements; clips built through the benchmark's cache); the epoch and thresholds are chosen on the
played clips of ``--val-persons`` (tuning persons held out of training). The reporting faces are
never used, so ``tools/bench_spotting.py --faces reporting`` stays a clean test of the weights.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mer_lab.paths import shared_data
from realtime_mer.errors import DataError, command_main, fail

REAL_CLIPS = ("WolfgangLanger_Pexels.mp4", "single_face.mp4", "face_noface.mov")
ASSET = Path(__file__).resolve().parents[1] / "realtime_mer" / "assets" / "spotter_gru.npz"


@command_main("train_spotter.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", default="", help="comma-separated sources ('astronaut' or video paths); default: astronaut + the real face videos")
    ap.add_argument("--data", type=Path, default=shared_data(), help="shared data folder (holds real_faces/)")
    ap.add_argument("--n-clips", type=int, default=48)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=1000, help="first training seed (>= 1000)")
    ap.add_argument("--play-every", type=int, default=3, help="every N-th video clip plays its video (0: all held)")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--hidden", type=int, default=48)
    ap.add_argument("--delay-ms", type=float, default=100.0, help="model look-ahead: the output at t is the intensity of t - delay")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/gru_cache"), help="rendered clips and features")
    ap.add_argument("--out", type=Path, default=ASSET)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--faces", choices=("tuning",), default=None, help="train on the faces benchmark's tuning faces (played real backdrops) instead of --sources")
    ap.add_argument("--clips-per-face", type=int, default=2, help="--faces: clips per tuning face video")
    ap.add_argument("--face-variants", default="played,held,jpeg,reencode", help="--faces: variants rendered for training")
    ap.add_argument("--val-persons", default="single_face_man,carphone,grid_lrwp9a", help="--faces: tuning persons held out for validation")
    args = ap.parse_args(argv)
    cv2.setNumThreads(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    from mer_lab.training import spotter_gru as gt

    console = Console()
    if args.sources:
        sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    else:
        real = args.data / "real_faces"
        sources = ["astronaut", *(str(real / n) for n in REAL_CLIPS if (real / n).is_file())]
    from mer_lab.evaluation.spot_faces import VARIANTS, FacesConfig

    variants = tuple(v.strip() for v in args.face_variants.split(",") if v.strip())
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or not variants:
        raise fail(DataError, f"--face-variants: unknown {', '.join(unknown) or '(none given)'}", f"choose from {','.join(VARIANTS)}")
    t0 = time.perf_counter()
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*cols, console=console) as bar:
        if args.faces:
            sources = [args.faces]
            task = bar.add_task("render + align + features (tuning faces)", total=None)
            fcfg = FacesConfig(faces=args.faces, clips_per_face=args.clips_per_face, seconds=args.seconds, seed=args.seed, variants=variants)
            clips = gt.faces_training_clips(args.data, args.cache, fcfg, progress=lambda s: bar.update(task, description=s))
            t_render, t_feat = time.perf_counter() - t0, 0.0
            trn, val = gt.split_by_person(clips, {p.strip() for p in args.val_persons.split(",") if p.strip()})
        else:
            plan = gt.clip_plan(sources, args.n_clips, args.seed, args.play_every)
            task = bar.add_task("render + align", total=len(plan))

            def step(name: str, k: int, total: int) -> None:
                bar.update(task, completed=k, total=total, description=name)

            paths = gt.render_clips(plan, args.seconds, args.cache, progress=step)
            bar.update(task, completed=len(plan))
            t_render = time.perf_counter() - t0
            ftask = bar.add_task("features", total=len(paths))
            clips = []
            for p in paths:
                clips.append(gt.clip_features(p))
                bar.advance(ftask)
            t_feat = time.perf_counter() - t0 - t_render
            val = [c for k, c in enumerate(clips) if k % 5 == 4]
            trn = [c for k, c in enumerate(clips) if k % 5 != 4]
        fps = clips[0]["fps"]
        delay = max(0, round(args.delay_ms * fps / 1000.0))

        def validate(weights: dict) -> float:
            probs = [gt.predict(weights, c["x"]) for c in val]
            _, rep = gt.choose_thresholds(val, probs, args.delay_ms)
            return rep["micro"]["f1"] + 0.25 * rep["macro"]["f1"]

        ttask = bar.add_task("train", total=args.epochs)

        def tstep(msg: str, k: int, total: int) -> None:
            bar.update(ttask, completed=k, description=msg)

        cfg = gt.GruTrainConfig(hidden=args.hidden, epochs=args.epochs, seed=args.seed)
        weights, history = gt.train(trn, cfg, delay, tstep, validate)
    probs = [gt.predict(weights, c["x"]) for c in val]
    meta, rep = gt.choose_thresholds(val, probs, args.delay_ms)
    meta |= {
        "delay_ms": args.delay_ms,
        "fps": fps,
        "sources": [Path(s).name for s in sources],
        "seeds": [args.seed, args.seed + args.n_clips - 1],
        "train_seeds": [int(c["seed"]) for c in trn],
        "val_seeds": [int(c["seed"]) for c in val],
        "n_clips": len(clips) if args.faces else args.n_clips,
        "faces": args.faces,
        "val_persons": sorted({c["person"] for c in val}) if args.faces else None,
        "seconds": args.seconds,
        "play_every": args.play_every,
        "epochs": args.epochs,
        "val_history": history,
        "val_report": {k: rep[k] for k in ("micro", "macro", "overall")},
        "train_config": vars(cfg),
        "wall_s": {"render": round(t_render, 1), "features": round(t_feat, 1), "total": round(time.perf_counter() - t0, 1)},
    }
    out, side = gt.export(weights, meta, args.out)
    mi = rep["micro"]
    console.print(f"validation ({len(val)} clips): micro P {mi['precision']:.3f} R {mi['recall']:.3f} F1 {mi['f1']:.3f}; macro F1 {rep['macro']['f1']:.3f}; high {meta['high']} low {meta['low']}")
    console.print(f"wrote {out} and {side} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
