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


COLUMNS = ["scenario", "inputs", "kills", "workers", "missing", "duplicated", "deadlettered",
           "wall"]  # fmt: skip


def table(text: str) -> str:
    """One row per line: the fields every scenario reports in columns (numbers
    right-aligned, a field a line lacks left blank), the scenario's own ``key=value`` fields
    together in a last ``details`` column."""
    found = rows(text)
    if not found:
        return ""
    cells = [
        [r.get(c, "") for c in COLUMNS]
        + [" ".join(f"{k}={v}" for k, v in r.items() if k not in COLUMNS)]
        for r in found
    ]
    header = [*COLUMNS, "details"]
    width = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(header)]

    def line(values: list[str]) -> str:
        out = [
            v.ljust(w) if i in (0, len(header) - 1) else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, width, strict=True))
        ]
        return "  ".join(out).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in width), *map(line, cells)])


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
