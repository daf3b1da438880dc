"""``python -m forloeb``: the same as the ``forloeb`` command."""

from .cli import main

main()
