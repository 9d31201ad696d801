"""The Runtime lab: every registered graph, every runtime and precision, one comparison.

``run.py`` runs it (latency table + throughput curve), ``explain.py`` answers "why isn't it
faster?" from the numbers, ``pictures.py`` draws them. The tab is ``tabs/lab.py``.
"""
