"""``python -m realtime_mer`` is the ``realtime-mer`` command (``realtime_mer/__main__.py`` over ``realtime_mer.app.cli``)."""

from __future__ import annotations

import subprocess
import sys

from realtime_mer import __version__


def test_python_m_realtime_mer_is_the_command() -> None:
    out = subprocess.run([sys.executable, "-m", "realtime_mer", "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"realtime-mer {__version__}"
