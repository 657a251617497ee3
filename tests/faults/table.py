"""The fault scenarios' ``faults: <scenario> key=value ...`` lines as an aligned table (what
``make test`` and ``make test-faults`` end with): ``python -m tests.faults.table [FILE]``."""

from __future__ import annotations

import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[2] / "test-output" / "faults.txt"


def rows(text: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for line in text.splitlines():
        if not line.startswith("faults: "):
            continue
        scenario, *fields = line.removeprefix("faults: ").split()
        row = {"scenario": scenario}
        for field in fields:
            key, sep, value = field.partition("=")
            if sep:
                row[key] = value
        out.append(row)
    return out


def table(text: str) -> str:
    """One row per line, one column per key (in the order first seen, ``wall`` last);
    numbers right-aligned, a key a line lacks left blank."""
    found = rows(text)
    if not found:
        return ""
    columns: list[str] = []
    for row in found:
        columns += [k for k in row if k not in columns]
    if "wall" in columns:
        columns = [c for c in columns if c != "wall"] + ["wall"]
    width = {c: max(len(c), *(len(r.get(c, "")) for r in found)) for c in columns}

    def cell(column: str, value: str) -> str:
        return value.ljust(width[column]) if column == "scenario" else value.rjust(width[column])

    lines = ["  ".join(cell(c, c) for c in columns).rstrip()]
    lines.append("  ".join("-" * width[c] for c in columns))
    lines += ["  ".join(cell(c, r.get(c, "")) for c in columns).rstrip() for r in found]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT
    if not path.exists():
        return 0
    out = table(path.read_text())
    if out:
        print(f"\nfault scenarios ({path}):\n{out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
