"""The wheel as users get it: built from the repository's files with ``pip wheel``, installed
with its dependencies in a fresh venv outside the checkout, and run from a directory outside
the checkout. Its output must be the checkout's, and the pandas reference's.

The Docker image's build stage is rebuilt from the Dockerfile's COPY lines and must build
the same wheel (the image installs that wheel; there is no Docker engine here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from streams.tools.cli import main
from tests import dockerfile
from tests.reference import closes, ma_crossings

pytestmark = pytest.mark.packaging
REPO = Path(__file__).resolve().parents[2]
SAMPLES = {
    "HSTECH.csv": REPO / "samples" / "quotes" / "HSTECH.csv",
    "wraps.jsonl": REPO / "samples" / "articles" / "heldout" / "wraps.jsonl",
    "hstech-60-day-line.txt": REPO / "samples" / "articles" / "hstech-60-day-line.txt",
}
WALL_CLOCK = ("emitted_at", "enriched_at", "checked_at", "failed_at")  # differ run to run


def repo_files() -> list[str]:
    """What a clone holds (tracked files, and new files not yet added nor ignored)."""
    out = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(p for p in out.split("\0") if p and os.path.lexists(REPO / p))


def copy_files(files: list[str], dest: Path) -> None:
    for rel in files:
        src, dst = REPO / rel, dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)


def clean_env() -> dict[str, str]:
    """No PYTHONPATH (it would put a checkout first) and no windvane settings."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    return {
        k: v
        for k, v in os.environ.items()
        if k not in drop and not k.startswith(("WINDVANE_", "KAFKA_"))
    }


def run(*cmd: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def build_wheel(source: Path, out: Path) -> Path:
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, source, cwd=source)
    (wheel,) = out.glob("windvane-*.whl")
    return wheel


def contents(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


@dataclass
class Installed:
    wheel: Path
    docker_wheel: Path
    venv: Path
    cwd: Path  # outside the checkout, holding copies of the sample inputs

    def windvane(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(self.venv / "bin" / "windvane", *args, cwd=self.cwd)

    def fails(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(self.venv / "bin" / "windvane"), *args],
            cwd=self.cwd,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode != 0, proc.stdout
        return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("wheel")
    assert not root.resolve().is_relative_to(REPO)
    clone = root / "clone"
    copy_files(repo_files(), clone)
    wheel = build_wheel(clone, root / "dist")
    # the Docker build stage: its WORKDIR filled by its COPY lines, then its `pip wheel .`
    stage = root / "docker-build-stage"
    dockerfile.copy_into(dockerfile.stages()[0], clone, stage)
    docker_wheel = build_wheel(stage, root / "docker-dist")
    venv = root / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=root)
    run(
        venv / "bin" / "python",
        *("-m", "pip", "install", "-q", "--disable-pip-version-check"),
        *("-c", REPO / "constraints.txt", wheel),
        cwd=root,
    )
    cwd = root / "elsewhere"
    cwd.mkdir()
    for name, path in SAMPLES.items():
        shutil.copy2(path, cwd / name)
    yield Installed(wheel, docker_wheel, venv, cwd)


def records(stdout: str) -> list[dict[str, Any]]:
    out = []
    for line in stdout.splitlines():
        rec = orjson.loads(line)
        for key in WALL_CLOCK:
            rec["value"].pop(key, None)
        out.append(rec)
    return out


def from_checkout(*args: str) -> list[dict[str, Any]]:
    """The same command run by the checkout's code, in this process."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return records(result.stdout)


def test_the_wheel_holds_every_module_and_the_data_the_code_reads(installed: Installed) -> None:
    files = contents(installed.wheel)
    modules = {p for p in repo_files() if p.startswith("streams/") and p.endswith(".py")}
    assert modules - set(files) == set()
    data = {
        "streams/py.typed",
        "streams/web/dashboard.html",
        "streams/domain/instruments.toml",
        "streams/kafka-broker.pom.xml",
        *(f"streams/schemas/{p.name}" for p in (REPO / "schemas").glob("*.json")),
    }
    assert data - set(files) == set()
    assert len(data) >= 11
    for name, body in files.items():
        top = name.split("/")[0]
        assert top in ("streams", "windvane-0.1.0.dist-info"), name  # no stray top-level dirs
        if top == "streams":  # the files themselves (not symlinks), as in the checkout
            assert body == (REPO / name).read_bytes(), name
    # what the image's build stage copies builds the very same wheel
    assert contents(installed.docker_wheel) == files


def test_windvane_runs_from_the_venv_not_the_checkout(installed: Installed) -> None:
    python = installed.venv / "bin" / "python"
    probe = "import streams, importlib.metadata as m; print(streams.__file__); print(m.version('windvane'))"
    where, version = run(python, "-c", probe, cwd=installed.cwd).stdout.split()
    site = installed.venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    assert Path(where) == site / "site-packages" / "streams" / "__init__.py"
    assert version == "0.1.0"
    assert "0.1.0" in installed.windvane("--version").stdout


def test_offline_quotes_gives_the_reference_crossings(installed: Installed) -> None:
    csv = installed.cwd / "HSTECH.csv"
    out = records(
        installed.windvane("offline", "quotes", "HSTECH.csv", "--symbol", "HSTECH").stdout
    )
    alerts = [r["value"] for r in out if r["topic"] == "alerts"]
    assert [(a["trading_day"], a["direction"]) for a in alerts] == ma_crossings(closes(csv), 60)
    assert ("2025-10-17", "below") in [(a["trading_day"], a["direction"]) for a in alerts]
    assert sum(r["topic"] == "quotes.signals" for r in out) == len(closes(csv))
    assert [r for r in out if r["topic"] == "deadletter"] == []  # schemas found and applied
    assert out == from_checkout("offline", "quotes", str(csv), "--symbol", "HSTECH")


def test_offline_article_enriches_a_feed_in_both_languages(installed: Installed) -> None:
    out = records(installed.windvane("offline", "article", "wraps.jsonl").stdout)
    enriched = [r["value"] for r in out if r["topic"] == "articles.enriched"]
    assert len(enriched) == 24 and not [r for r in out if r["topic"] == "deadletter"]
    for lang in ("en", "zh"):  # the Chinese path needs OpenCC's and cn2an's data installed
        assert sum(1 for e in enriched if e["lang"] == lang and e["metrics"]) >= 8
    claims = [r["value"]["claim"] for r in out if r["topic"] == "articles.claims"]
    assert "HSI" in {c["symbol"] for c in claims}  # names resolved by the shipped registry
    assert out == from_checkout("offline", "article", str(installed.cwd / "wraps.jsonl"))


def test_offline_article_claims_are_checked_against_replayed_quotes(installed: Installed) -> None:
    args = ("--published-at", "2025-10-20", "--quotes", "HSTECH=HSTECH.csv")
    out = records(installed.windvane("offline", "article", "hstech-60-day-line.txt", *args).stdout)
    verdicts = {
        (
            r["value"]["claim"]["symbol"],
            r["value"]["claim"]["type"],
            r["value"]["claim"]["date"],
        ): r["value"]["verdict"]
        for r in out
        if r["topic"] == "articles.claims"
    }
    assert verdicts[("HSTECH", "ma_cross", "2025-10-17")] == "confirmed"
    assert verdicts[("HSTECH", "index_level", "2025-10-20")] == "contradicted"  # 5900 vs real


def test_tools_that_need_a_checkout_say_so(installed: Installed) -> None:
    assert "--labels-dir" in installed.fails("eval").stderr
    assert "run it from a windvane checkout" in installed.fails("demo").stderr
    python = installed.venv / "bin" / "python"
    probe = "from streams.tools.kafka_local import LocalBroker, broker_pom; print(LocalBroker.lib_dir()); print('kafka_2.13' in broker_pom())"
    lib, has_kafka = run(python, "-c", probe, cwd=installed.cwd).stdout.split()
    assert Path(lib) == installed.cwd.resolve() / ".windvane" / "kafka-lib"  # not site-packages
    assert has_kafka == "True"
