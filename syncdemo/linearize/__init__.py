"""``syncdemo check``: a class's methods called from a few threads at once, each outcome
compared with the same calls made one after another (linearizability, as Lincheck checks
a JVM class): no specification to write, the class's own sequential behaviour is it.

calls.py says what one call is (from an ``--ops`` list or from type hints) and what it
returned; history.py holds a concurrent history and the search for a sequential order
that explains it; harness.py makes one set of calls an explorable scenario; check.py
tries sets of calls under the explorer, keeps the first failing one and minimizes it.
"""
