"""``python -m forloeb.cli``: the same as the ``forloeb`` command (and ``python -m forloeb``)."""

from . import main

if __name__ == "__main__":  # not when a tool imports every module of the package
    main()
