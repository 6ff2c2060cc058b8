"""Package discovery, the one part of the build pyproject.toml cannot say: ``[tool.setuptools.packages.find]``
finds packages by folder name, and methods/ and splits/ ship under other names (``zsar_bench_methods``,
``zsar_bench_splits``: package-dir in pyproject.toml). So: every package under zsar_bench/ (each folder with
an __init__.py), plus those two. Everything else about the build is in pyproject.toml."""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["zsar_bench", "zsar_bench.*"]) + ["zsar_bench_methods", "zsar_bench_splits"])
