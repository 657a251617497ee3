"""The Dockerfile read by structure (this machine has no Docker engine): its stages, the
files each copies from the build context, and that context rebuilt the way COPY builds it."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def stages(path: Path = REPO / "Dockerfile") -> list[list[str]]:
    """The instructions (continuation lines joined), one list per stage."""
    text = path.read_text().replace("\\\n", " ")
    found: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            found.append([])
        found[-1].append(line)
    return found


def copies(stage: list[str]) -> list[tuple[list[str], str]]:
    """(sources, destination) of the stage's COPY lines that read the build context."""
    found = []
    for line in stage:
        if line.startswith("COPY ") and "--from=" not in line:
            *sources, dest = line.split()[1:]
            found.append((sources, dest))
    return found


def copy_into(stage: list[str], context: Path, workdir: Path) -> None:
    """What the stage's COPY lines put in its WORKDIR, from ``context``: a directory's
    contents go into the destination, symlinks inside it stay symlinks (as COPY does)."""
    for sources, dest in copies(stage):
        target = workdir / dest
        for src in sources:
            path = context / src
            if path.is_dir():
                shutil.copytree(path, target, symlinks=True, dirs_exist_ok=True)
            elif dest.endswith("/") or len(sources) > 1:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target / path.name)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
