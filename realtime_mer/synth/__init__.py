"""Synthetic micro-expressions: FACS action-unit movements injected into real faces.

Each AU is a set of landmark-anchored Gaussian displacement bumps (``aus``), rendered as a
smooth backward warp (``field``, ``render``) with a raised-cosine onset → apex → offset
profile (``profile``), among distractors (blinks, head drift and jerks, flicker, sensor
noise, JPEG) planned per clip (``scene``). the lab's ``mer_lab.synthetic.video_set`` writes videos plus ``truth.csv``;
``realtime_mer.capture.demo.DemoSource`` streams the bundled astronaut live.
"""

from __future__ import annotations

from realtime_mer.synth.aus import ACTION_UNITS, MOVEMENTS, label_for_aus
from realtime_mer.synth.clip import ASTRONAUT, Clip, SynthConfig, make_backdrop
from realtime_mer.synth.field import displacement_field, face_geometry
from realtime_mer.synth.scene import Movement, Scene, SceneConfig, plan_scene
from realtime_mer.synth.truth import TRUTH_COLUMNS, TruthRow, read_truth_csv, write_truth_csv

__all__ = [
    "ACTION_UNITS",
    "ASTRONAUT",
    "MOVEMENTS",
    "TRUTH_COLUMNS",
    "Clip",
    "Movement",
    "Scene",
    "SceneConfig",
    "SynthConfig",
    "TruthRow",
    "displacement_field",
    "face_geometry",
    "label_for_aus",
    "make_backdrop",
    "plan_scene",
    "read_truth_csv",
    "write_truth_csv",
]
