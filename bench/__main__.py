"""`python -m bench` lists the benchmarks; `python -m bench NAME [args...]` runs one."""
from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import bench

# Modules of the package that are helpers, not benchmarks.
HELPERS = {"common", "page_app", "page_clients", "__main__"}


def benchmarks() -> dict[str, str]:
    """name -> first docstring line, for every module with a main()."""
    found = {}
    for info in pkgutil.iter_modules([str(Path(bench.__file__).parent)]):
        if info.name in HELPERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "main", None)):
            found[info.name] = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
    return dict(sorted(found.items()))


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "list"):
        print("usage: python -m bench NAME [args...]\n\nbenchmarks:")
        for name, line in benchmarks().items():
            print(f"  {name:18} {line}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in benchmarks():
        print(f"no benchmark named {name!r}; `python -m bench` lists them", file=sys.stderr)
        return 2
    return int(importlib.import_module(f"bench.{name}").main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
