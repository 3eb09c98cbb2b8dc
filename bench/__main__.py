"""`python -m bench` lists the benchmarks; `python -m bench NAME [args...]` runs one.

A benchmark is a module of this package with a docstring (its first line is the listing) and
`def main(argv=None) -> int`. Discovery reads each module's source (ast) instead of importing
it, so the listing is instant (no torch import) and a module another developer is halfway
through writing cannot break it: such a module is listed as unreadable, and only running it
imports it.
"""
from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# Modules of the package that are helpers, not benchmarks.
HELPERS = {"common", "browser", "page_app", "page_clients", "__main__", "__init__"}


def describe(path: Path) -> str | None:
    """The first docstring line of a benchmark module, or None when `path` is not one."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError) as err:
        return f"(unreadable: {type(err).__name__})"
    doc = ast.get_docstring(tree)
    has_main = any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)
    if not doc or not has_main:
        return None
    return doc.strip().splitlines()[0]


def benchmarks() -> dict[str, str]:
    """name -> first docstring line, for every benchmark module of the package."""
    found = {}
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem in HELPERS or path.stem.startswith("_"):
            continue
        line = describe(path)
        if line is not None:
            found[path.stem] = line
    return found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    found = benchmarks()
    if not argv or argv[0] in ("-h", "--help", "list"):
        print("usage: python -m bench NAME [args...]   (NAME --help: its options)\n\nbenchmarks:")
        for name, line in found.items():
            print(f"  {name:18} {line}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in found:
        print(f"no benchmark named {name!r}; `python -m bench` lists them", file=sys.stderr)
        return 2
    return int(importlib.import_module(f"bench.{name}").main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
