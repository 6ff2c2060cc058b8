"""Progress a person can follow: one display for every long stretch of work (feature generation, text
encoding, runs).

On a terminal, a tqdm bar with count, rate and ETA, redrawn every second even between updates. Elsewhere
(a log file, CI), a line at least every ``every`` seconds (default 10): what is being done, how far, how
fast, about how long is left; a stretch shorter than that prints nothing. ``enabled=False`` (``--no-progress``)
shows neither.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Callable, Optional, TextIO

from tqdm.auto import tqdm

HEARTBEAT_S = 10.0


def _duration(s: float) -> str:
    s = max(0.0, s)
    if s < 90:
        return f"{s:.0f}s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


class Progress:
    """``with Progress("encoding texts", total=n, unit="text") as p: ... p.update(k)``; ``p.write(msg, log)`` logs a
    line without breaking the bar."""

    def __init__(self, desc: str, total: Optional[int] = None, unit: str = "it", enabled: bool = True,
                 stream: Optional[TextIO] = None, every: Optional[float] = None):
        self.desc, self.total, self.unit = desc, total, unit
        self.every = HEARTBEAT_S if every is None else every
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.done = 0
        self._bar = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._t0 = time.perf_counter()

    @property
    def on_terminal(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def __enter__(self) -> "Progress":
        self._t0 = time.perf_counter()
        if not self.enabled:
            return self
        if self.on_terminal:
            self._bar = tqdm(total=self.total, desc=self.desc, unit=self.unit, file=self.stream, leave=False,
                             dynamic_ncols=True, mininterval=0.5)
        self._thread = threading.Thread(target=self._tick, name="zsar-bench-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)

    def write(self, msg: str, log: Optional[Callable[[str], None]] = None) -> None:
        """``log(msg)`` (default: print to the stream), with the bar cleared first and redrawn after."""
        log = log or (lambda m: print(m, file=self.stream, flush=True))
        if self._bar is not None:
            with self._bar.external_write_mode(file=self.stream):
                log(msg)
        else:
            log(msg)

    def line(self) -> str:
        """The log line for now: desc, done/total, rate, time left (or time spent when nothing is counted)."""
        elapsed = time.perf_counter() - self._t0
        if self.total is None and not self.done:
            return f"{self.desc}: still working ({_duration(elapsed)})"
        of = f"/{self.total}" if self.total is not None else ""
        out = f"{self.desc}: {self.done}{of} {self.unit}(s) in {_duration(elapsed)}"
        if self.done:
            rate = self.done / elapsed if elapsed > 0 else 0.0
            out += f" ({rate:.2f}/s" if rate >= 1 else f" ({elapsed / self.done:.1f}s each"
            if self.total is not None and rate > 0:
                out += f", about {_duration((self.total - self.done) / rate)} left"
            out += ")"
        return out

    def _tick(self) -> None:
        last = time.perf_counter()
        while not self._stop.wait(1.0 if self._bar is not None else min(1.0, self.every)):
            if self._bar is not None:
                self._bar.refresh()  # elapsed time and ETA move between updates too
            elif time.perf_counter() - last >= self.every:
                last = time.perf_counter()
                print(self.line(), file=self.stream, flush=True)

