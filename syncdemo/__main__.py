"""``python -m syncdemo``: the same command line as the ``syncdemo`` script."""

from syncdemo._entry import main

if __name__ == "__main__":
    main()
