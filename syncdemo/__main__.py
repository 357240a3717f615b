"""``python -m syncdemo``: the same command line as the ``syncdemo`` script."""

from syncdemo.cli import main

if __name__ == "__main__":
    main()
