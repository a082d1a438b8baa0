"""The same workload through harness and its peers (pytest-postgresql, testcontainers, CREATE
DATABASE + migrate per test): one generated test module (`workload.py`) and, per tool, the
conftest a user of that tool would write (`conftest_<tool>.py`), each run as its own pytest
process by `runs.py`. The workload and the conftests are copied into a scratch directory, so
they are never collected here."""
