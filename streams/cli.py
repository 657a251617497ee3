"""Compatibility: the command line lives in :mod:`streams.tools.cli` (``python -m streams.cli``
and console scripts installed before the move keep working)."""

from streams.tools.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
