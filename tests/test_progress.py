"""Progress a person can follow (issue 22): a bar with rate and ETA on a terminal, a line at least every
``every`` seconds in a log, nothing with --no-progress; the driver shows its runs that way."""
import io
import time

from zsar_bench.running.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_gets_a_line_every_interval_with_count_rate_and_time_left():
    out = io.StringIO()
    with Progress("encoding texts", total=10, unit="text", stream=out, every=0.2) as p:
        for _ in range(5):
            p.update(1)
            time.sleep(0.12)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2, lines
    assert lines[-1].startswith("encoding texts: ") and "/10 text(s) in" in lines[-1] and "left)" in lines[-1]


def test_a_short_stretch_prints_nothing_and_disabled_prints_nothing():
    out = io.StringIO()
    with Progress("quick", total=3, stream=out, every=5) as p:
        p.update(3)
    with Progress("off", total=3, stream=out, every=0.01, enabled=False) as p:
        time.sleep(0.1)
        p.update(3)
    assert out.getvalue() == ""


def test_a_stretch_without_a_count_says_it_is_still_working():
    out = io.StringIO()
    with Progress("features hmdb51/synthetic", stream=out, every=0.1):
        time.sleep(0.35)
    assert "features hmdb51/synthetic: still working (0s)" in out.getvalue()


def test_a_terminal_gets_a_bar_with_rate_and_eta_and_lines_above_it():
    out = _Terminal()
    with Progress("runs", total=4, unit="run", stream=out) as p:
        p.update(1)
        p.write("[1/4] chance hmdb51 fold 0: top1 4.0")
        time.sleep(1.2)
        p.update(1)
    text = out.getvalue()
    assert "runs:" in text and "2/4" in text and "run/s" in text and "<" in text  # tqdm: rate and remaining time
    assert "[1/4] chance hmdb51 fold 0: top1 4.0\n" in text


def test_the_driver_prints_a_line_while_a_slow_run_trains(tmp_path, data_root, plugins, capsys, monkeypatch):
    """A run that trains longer than the interval is not silent: the driver's progress line comes meanwhile."""
    from zsar_bench.running import progress, runner
    from zsar_bench.results.records import RecordStore
    from zsar_bench.running.runner import RunSpec
    from zsar_bench.splits import load_protocol
    from zsar_bench.running.sweep import run_specs

    monkeypatch.setattr(progress, "HEARTBEAT_S", 0.2)
    real = runner.execute_run

    def slow(spec, fs):
        time.sleep(0.7)
        return real(spec, fs)

    monkeypatch.setattr(runner, "execute_run", slow)
    import zsar_bench.running.worker as worker

    monkeypatch.setattr(worker, "execute_run", slow)
    pr = load_protocol("olympics", "random-50-50")
    specs = [RunSpec("chance", {}, "olympics", "synthetic", pr, pr.folds[f], 0, progress=True) for f in (0, 1)]
    logs = []
    run_specs(specs, RecordStore(tmp_path / "r.jsonl"), executor="inline", isolate=False, log=logs.append)
    err = capsys.readouterr().err
    assert "runs: 0/2 run(s) in" in err or "runs: 1/2 run(s) in" in err, err
    assert any(line.startswith("[2/2] chance olympics") for line in logs), logs  # run lines reach the caller's log
