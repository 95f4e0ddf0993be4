"""A scratch copy of the project for the self-tests that run the suite as people do, so their reports
never touch the real reports/ folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEHAVE = [sys.executable, "-m", "behave"]
COPIED = (
    "bin",
    "features",
    "steps",
    "support",
    "fixtures",
    "reference_client",
    "realtime_protocol",
    "tests/deliberate_failure",
    "environment.py",
    "behave.ini",
    "pyproject.toml",
    "requirements.txt",
    "package.json",
    "package-lock.json",
    "allurerc.mjs",
)
# Installed once for the real project; the copy borrows them rather than installing its own.
SHARED = (".venv", "node_modules")


def copy_project(tmp_path: Path) -> Path:
    for name in COPIED:
        source, target = ROOT / name, tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy(source, target)
    for name in SHARED:
        if (ROOT / name).exists():
            (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def run_behave(project: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BEHAVE, *args], cwd=project, capture_output=True, text=True, timeout=timeout, check=False
    )
