"""Benchmarks: `python -m bench` lists them, `python -m bench NAME [args]` runs one.

Each benchmark is a module of this package with a docstring (its first line is the listing)
and `main(argv: list[str] | None = None) -> int`. They import the project as `playground`
(installed, or the checkout as the working directory) and shared helpers from `bench.common`;
never from `tests`, never a `_private` name.
"""
