"""``--executor sandbox`` (issue 23, item 2): workers in a bubblewrap sandbox see no data root, no network, no
writable file system and only the environment they need; the driver hands them the feature sets without labels.

The adversary reads the labels from the feature store on disk (as a plugin running as your user can, next to the
worker's own copy, which holds none) and scores by matching its clips' features. With the local executor it
reaches 100%: what the sandbox is for. In the sandbox it finds nothing and scores its constant guess."""
import json
import shutil
import sys
import textwrap

import pytest

from zsar_bench import cli
from zsar_bench.method import METHODS
from zsar_bench.results.records import RecordStore

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap is not installed (Debian: apt-get install bubblewrap)")

DISK = textwrap.dedent('''
    """Reads the labels from the feature store on disk and says what else it could reach."""
    import json
    import os
    import socket
    import sys

    import numpy as np
    from zsar_bench import Method, register_method


    def _store_labels():
        """{feature row bytes: class identifier} from the data root the driver uses, if this process can read it."""
        from zsar_bench.datasets import get_dataset
        from zsar_bench.features import load_feature_set
        from zsar_bench.features.store import synthetic_on_disk
        from zsar_bench.paths import set_data_root

        set_data_root(ADV_ROOT)
        if not synthetic_on_disk("olympics"):  # hidden: an empty folder (generating it anew is no read)
            return {}
        fs = load_feature_set("olympics", "synthetic")
        ids = [c.identifier for c in get_dataset("olympics").classes()]
        return {row.tobytes(): ids[int(l)] for row, l in zip(fs.videos.features, fs.labels)}


    def _reach():
        out = {"env": sorted(os.environ)}
        try:
            socket.create_connection(("pypi.org", 443), timeout=3).close()
            out["network"] = True
        except OSError:
            out["network"] = False
        try:
            with open(os.path.join(ADV_WRITE, "written"), "w") as f:
                f.write("x")
            out["wrote"] = True
        except OSError:
            out["wrote"] = False
        return out


    @register_method("adv-disk")
    class Disk(Method):
        summary = "scores by the labels in the feature store on disk"

        def __init__(self, k: int = 0):
            self.k = k

        def fit(self, data, ctx):
            return self

        def score(self, videos, classes):
            labels = _store_labels()
            col = {c.identifier: j for j, c in enumerate(classes)}
            out = np.zeros((len(videos), len(classes)))
            for i, row in enumerate(videos.features):
                j = col.get(labels.get(row.tobytes()))
                if j is not None:
                    out[i, j] = 1.0
            line = json.dumps({"found": len(labels), **_reach()})
            try:
                with open(ADV_REPORT, "a") as f:
                    f.write(line + "\\n")
            except OSError:  # a sandbox: nothing writable outlives it, so the report goes to stderr
                print("ADV-REACH " + line, file=sys.stderr, flush=True)
            return out
''')


@pytest.fixture
def disk(tmp_path, monkeypatch, data_root):
    plugin = DISK.replace('"""Reads the labels', f'ADV_ROOT, ADV_WRITE, ADV_REPORT = {str(data_root)!r}, {str(tmp_path)!r}, '
                          f'{str(tmp_path / "reach.jsonl")!r}\n"""Reads the labels', 1)
    (tmp_path / "adv_disk.py").write_text(plugin)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("ZSAR_BENCH_PLUGINS", "adv_disk")
    monkeypatch.setenv("ADV_SECRET_TOKEN", "not for plugins")
    yield tmp_path
    METHODS._items.pop("adv-disk", None)
    METHODS._origins.pop("adv-disk", None)
    sys.modules.pop("adv_disk", None)


def _run(executor, tmp_path, capfd):
    rec = tmp_path / f"{executor}.jsonl"
    report = tmp_path / "reach.jsonl"
    report.unlink(missing_ok=True)
    rc = cli.main(["--methods", "adv-disk,eszsl", "--datasets", "olympics", "--folds", "0", "--records", str(rec),
                   "--no-report", "--no-progress", "--jobs", "1", "--executor", executor])
    err = capfd.readouterr().err
    lines = report.read_text().splitlines() if report.exists() else \
        [line.split("ADV-REACH ", 1)[1] for line in err.splitlines() if "ADV-REACH " in line]
    rows = {r["method"]: r for r in RecordStore(rec).read()}
    return rc, rows, [json.loads(line) for line in lines]


def test_the_sandbox_hides_the_data_root_the_network_and_the_environment(disk, olympics_features, capfd):
    rc, local, (reach,) = _run("local", disk, capfd)
    assert rc == 0 and local["adv-disk"]["top1"] == 1.0  # the control: as your user, the labels on disk are there
    assert reach["found"] > 0 and reach["wrote"] and "ADV_SECRET_TOKEN" in reach["env"]
    (disk / "written").unlink()

    rc, boxed, (reach,) = _run("sandbox", disk, capfd)
    assert rc == 0 and reach["found"] == 0 and boxed["adv-disk"]["top1"] < 0.5
    assert reach["network"] is False and reach["wrote"] is False and not (disk / "written").exists()
    assert "ADV_SECRET_TOKEN" not in reach["env"] and "ZSAR_BENCH_DATA" not in reach["env"]
    # the other method's numbers are the same in or out of the sandbox
    assert [boxed["eszsl"][k] for k in ("top1", "top5", "mean_class_acc")] == \
        [local["eszsl"][k] for k in ("top1", "top5", "mean_class_acc")]


def test_no_sandbox_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    rc = cli.main(["--methods", "chance", "--datasets", "olympics", "--folds", "0", "--records",
                   str(tmp_path / "r.jsonl"), "--no-report", "--executor", "sandbox"])
    err = capsys.readouterr().err
    assert rc == 2 and "needs bubblewrap (bwrap)" in err and "Traceback" not in err
