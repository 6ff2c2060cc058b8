"""What ``--executor`` and its options ask for (``ExecutorConfig``), their checks, and the executor they build
(``make_executor``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .base import EXECUTORS, Executor, ExecutorError
from .inline import InlineExecutor
from .local import LocalExecutor
from .ray_backend import RayExecutor, _ray
from .submitit_backend import SubmititExecutor, _submitit


@dataclass
class ExecutorConfig:
    """What ``--executor`` and its options ask for (``jobs`` and ``threads`` are ``run_specs`` arguments)."""

    kind: str = "local"
    runs_per_job: Optional[int] = None  # None: the batching rule (package docstring)
    jobs_dir: Optional[str] = None  # submitit: job folders and state.json (default <records>.jobs)
    slurm_partition: Optional[str] = None
    slurm_time: Optional[int] = None  # minutes
    slurm_gpus: Optional[int] = None
    slurm_cpus: Optional[int] = None
    slurm_mem: Optional[float] = None  # GB
    ray_address: Optional[str] = None
    run_timeout: Optional[float] = None  # seconds one run may take (--run-timeout; None: no limit)

    @classmethod
    def from_args(cls, args: Any) -> "ExecutorConfig":
        """From the run parser's namespace (``--executor``, ``--runs-per-job``, ``--jobs-dir``, ``--slurm-*``,
        ``--ray-address``); attributes it lacks keep their defaults."""
        out = {}
        for f in cls.__dataclass_fields__:
            v = getattr(args, "executor" if f == "kind" else f, None)
            if v is not None:
                out[f] = v
        return cls(**out)

    def check(self) -> None:
        """ExecutorError for a back end that cannot be used as configured (nothing is started)."""
        if self.kind not in EXECUTORS:
            raise ExecutorError(f"unknown executor {self.kind!r}; choose one of {', '.join(EXECUTORS)}")
        if self.runs_per_job is not None and self.runs_per_job < 1:
            raise ExecutorError(f"--runs-per-job {self.runs_per_job}: give 1 or more (or leave it out for the rule)")
        if self.run_timeout is not None and not (0 < self.run_timeout < float("inf")):
            raise ExecutorError(f"--run-timeout {self.run_timeout}: give a positive number of seconds (or leave it "
                                "out: no limit)")
        for name in ("slurm_time", "slurm_gpus", "slurm_cpus", "slurm_mem"):
            v = getattr(self, name)
            if v is not None and (v < 0 or (name in ("slurm_time", "slurm_cpus") and v < 1)):
                raise ExecutorError(f"--{name.replace('_', '-')} {v}: give a positive number")
        if self.kind == "slurm":
            missing = [f"--{n.replace('_', '-')}" for n in ("slurm_partition", "slurm_time") if not getattr(self, n)]
            if missing:
                raise ExecutorError(f"--executor slurm needs {' and '.join(missing)} (e.g. --slurm-partition gpu "
                                    "--slurm-time 60: the partition and each job's time limit in minutes)")
        else:
            allowed = ("slurm_time", "slurm_cpus") if self.kind == "submitit-local" else ()
            given = [f"--{n.replace('_', '-')}" for n in ("slurm_partition", "slurm_time", "slurm_gpus", "slurm_cpus",
                                                          "slurm_mem") if getattr(self, n) is not None and n not in allowed]
            if given:
                raise ExecutorError(f"{', '.join(given)} apply to --executor slurm only (this is --executor {self.kind})")
        if self.kind != "ray" and self.ray_address:
            raise ExecutorError(f"--ray-address applies to --executor ray only (this is --executor {self.kind})")
        if self.kind in ("slurm", "submitit-local"):
            _submitit()
        if self.kind == "ray":
            _ray()
        if self.kind == "sandbox":
            from .sandbox import check_sandbox

            check_sandbox()

    def jobs_folder(self, records_path: str | Path) -> Path:
        return Path(self.jobs_dir) if self.jobs_dir else Path(f"{records_path}.jobs")


def make_executor(cfg: ExecutorConfig, jobs: Optional[int], threads: int, data_root: Optional[str],
                  records_path: str | Path, gpus_per_job: float = 0) -> Executor:
    cfg.check()
    if cfg.kind == "inline":
        return InlineExecutor(data_root, threads)
    if cfg.kind == "local":
        return LocalExecutor(data_root, threads, jobs)
    if cfg.kind == "sandbox":
        from .sandbox import SandboxExecutor

        return SandboxExecutor(data_root, threads, jobs)
    if cfg.kind == "ray":
        return RayExecutor(cfg.ray_address, data_root, threads, jobs, gpus_per_job=gpus_per_job)
    cluster = "slurm" if cfg.kind == "slurm" else "local"
    return SubmititExecutor(cfg.jobs_folder(records_path), cluster, data_root, threads, jobs,
                            cfg.slurm_partition, cfg.slurm_time, cfg.slurm_gpus, cfg.slurm_cpus, cfg.slurm_mem)
