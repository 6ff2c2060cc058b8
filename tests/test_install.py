"""It installs: the wheel built from the checkout holds every package and data file, and the ``zsar-bench``
command it installs runs from outside the checkout with nothing of the checkout importable.

The project's venv has an editable install whose import finder supplies missing subpackages from the source
tree, so a wheel that lacks one would still import there. The installed runs below therefore use
``python -S`` (no site: no .pth files, so no editable finder) with ``PYTHONPATH`` = the wheel's install
folder + the venv's site-packages (the dependencies only), from a working folder outside the repository.
Decoys around the install (another package's methods/ and splits/ in the same site-packages, a git repository
around it) check that an installed harness tells itself apart from a checkout (``paths.CHECKOUT``).
"""
import configparser
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow  # builds a wheel, installs it and runs the command: ~20 s

# import name -> source folder (pyproject.toml's package-dir maps methods/ and splits/)
PACKAGES = {"zsar_bench": "zsar_bench", "zsar_bench_methods": "methods", "zsar_bench_splits": "splits"}
NOT_SHIPPED = {"tests", "benchmarks", "scripts", "methods", "splits", "configs", "docs"}


def _source_files() -> list[str]:
    """The checkout's files, relative: what git tracks or would track (ignored build outputs, .venv, caches
    left out); a walk that skips dot-folders and build outputs where git is unavailable."""
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                             check=True, timeout=120).stdout.decode()
        return sorted(f for f in out.split("\0") if f and (ROOT / f).is_file())
    except (OSError, subprocess.SubprocessError):
        top_skip = {"build", "dist", "results", "reports"}  # build outputs and run outputs of the checkout
        files = []
        for d, dirs, names in os.walk(ROOT):
            dirs[:] = [x for x in dirs if not x.startswith(".") and x != "__pycache__" and not x.endswith(".egg-info")
                       and not (Path(d) == ROOT and x in top_skip)]
            files += [str(Path(d, n).relative_to(ROOT)) for n in names if not n.endswith(".pyc")]
        return sorted(files)


def _expected_wheel_files(files: list[str]) -> dict[str, str]:
    """wheel path -> source path: every file under each package's folder (modules and package data)."""
    out = {}
    for pkg, folder in PACKAGES.items():
        for f in files:
            if f.startswith(folder + "/") and "__pycache__" not in f and not f.endswith(".pyc"):
                out[pkg + f[len(folder):]] = f
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(source file list, wheel path): the wheel built offline from a copy of the checkout (never in the
    checkout itself: a stale build/ there could slip old files into the wheel, and tests run concurrently)."""
    base = tmp_path_factory.mktemp("wheel")
    src, out = base / "src", base / "dist"
    files = _source_files()
    for f in files:
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, src / f)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                        "--disable-pip-version-check", ".", "-w", str(out)], cwd=src, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, f"pip wheel failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    wheels = list(out.glob("zsar_bench-*.whl"))
    assert len(wheels) == 1, f"expected one zsar_bench wheel in {out}: {sorted(p.name for p in out.iterdir())}"
    return files, wheels[0]


def test_every_python_folder_is_a_package():
    """Package discovery finds folders with __init__.py; a folder of modules without one would not ship."""
    files = _source_files()
    folders = {str(Path(f).parent) for f in files if f.startswith("zsar_bench/") and f.endswith(".py")}
    missing = sorted(d for d in folders if f"{d}/__init__.py" not in files)
    assert not missing, f"folders of modules without __init__.py (not found by package discovery): {missing}"


def test_wheel_holds_every_package_and_data_file(built):
    files, wheel = built
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    expected = _expected_wheel_files(files)
    packages = sorted({str(Path(f).parent).replace("/", ".") for f in expected if f.endswith("/__init__.py")}
                      | {"zsar_bench_methods", "zsar_bench_splits"})
    missing_packages = [p for p in packages if not any(n.startswith(p.replace(".", "/") + "/") for n in names)]
    assert not missing_packages, (f"{wheel.name} lacks these packages (setup.py's package discovery missed them): "
                                  f"{missing_packages}")
    missing = sorted(w for w in expected if w not in names)
    assert not missing, (f"{wheel.name} lacks {len(missing)} file(s) of the source tree (a module, or package data "
                         f"the code reads: widen package-data in pyproject.toml): {missing}")
    top = {n.split("/", 1)[0] for n in names}
    stray = sorted(t for t in top if t in NOT_SHIPPED or not (t in PACKAGES or t.endswith(".dist-info")))
    assert not stray, f"{wheel.name} ships folders that are not the harness's packages: {stray}"


def _console_script(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt"))
        cp = configparser.ConfigParser()
        cp.read_string(z.read(name).decode())
    return cp["console_scripts"]["zsar-bench"]


# The console script's body (pip writes the same): import the entry point, call it with sys.argv. Afterwards it
# writes where every zsar_bench module came from, and whether the editable install's finder got loaded.
PROBE = """\
import importlib, json, os, sys
mod, attr = {entry!r}.split(":")
sys.argv = ["zsar-bench", *sys.argv[1:]]
try:
    rc = getattr(importlib.import_module(mod), attr)()
except SystemExit as e:
    rc = e.code
import zsar_bench.splits
seen = {{n: getattr(m, "__file__", None) or list(getattr(m, "__path__", [])) for n, m in list(sys.modules.items())
        if n.split(".")[0] in ("zsar_bench", "zsar_bench_methods", "zsar_bench_splits")}}
seen["<splits dir>"] = str(zsar_bench.splits.SPLITS_DIR)
editable = [n for n in sys.modules if n.startswith("__editable__")] + [repr(f) for f in sys.meta_path
                                                                        if "editable" in repr(f).lower()]
with open(os.environ["ZSAR_INSTALL_PROBE"], "w") as f:
    json.dump({{"modules": seen, "editable": editable, "path": sys.path}}, f)
sys.exit(rc or 0)
"""


def test_installed_command_runs_outside_the_checkout(built, tmp_path, data_root, olympics_features):
    _, wheel = built
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--no-compile",
                        "--disable-pip-version-check", "--target", str(site), str(wheel)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"pip install --target failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    # Decoys: another distribution's top-level methods/ and splits/ in the same site-packages (beside zsar_bench/,
    # where a checkout has its own), and a git repository around the install (a venv inside a project). A wheel
    # install must use its own packages and record no commit of another project.
    (site / "methods").mkdir()
    (site / "methods" / "decoy.py").write_text("raise RuntimeError('decoy: another package in site-packages')\n")
    (site / "splits" / "olympics").mkdir(parents=True)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    have_git = shutil.which("git") is not None
    if have_git:
        subprocess.run(git + ["init", "-q"], check=True)
        subprocess.run(git + ["commit", "-q", "--allow-empty", "-m", "another project"], check=True)
    work = tmp_path / "work"
    work.mkdir()
    assert ROOT.resolve() not in work.resolve().parents

    paths = sysconfig.get_paths()
    deps = list(dict.fromkeys([paths["purelib"], paths["platlib"]]))  # the venv's packages, not its .pth files
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP",
                                                            "ZSAR_BENCH_PLUGINS", "PYTHONSAFEPATH")}
    env.update(PYTHONPATH=os.pathsep.join([str(site), *deps]), PYTHONNOUSERSITE="1",
               ZSAR_BENCH_DATA=str(data_root), ZSAR_INSTALL_PROBE=str(tmp_path / "probe.json"))
    code = PROBE.format(entry=_console_script(wheel))

    def zsar_bench(*args: str) -> str:
        (tmp_path / "probe.json").unlink(missing_ok=True)
        p = subprocess.run([sys.executable, "-S", "-c", code, *args], cwd=work, env=env, capture_output=True,
                           text=True, timeout=600)
        assert p.returncode == 0, (f"zsar-bench {' '.join(args)} exited {p.returncode}:\n{p.stdout[-3000:]}\n"
                                   f"{p.stderr[-3000:]}")
        probe = json.loads((tmp_path / "probe.json").read_text())
        assert not probe["editable"], f"the editable install was loaded: {probe['editable']}"
        root = ROOT.resolve()
        in_checkout = [e for e in probe["path"] if e not in deps and Path(e or work).resolve().is_relative_to(root)]
        assert not in_checkout, f"the checkout is on sys.path: {in_checkout}"
        outside = {}
        for name, where in probe["modules"].items():
            for w in ([where] if isinstance(where, str) else where):
                if not Path(w).resolve().is_relative_to(site.resolve()):
                    outside[name] = w
        assert not outside, f"imported from outside the installed wheel ({site}): {outside}"
        assert probe["modules"]["zsar_bench"].startswith(str(site)), probe["modules"]["zsar_bench"]
        return p.stdout + p.stderr

    assert "list" in zsar_bench("--help")
    listing = zsar_bench("list", "methods")
    assert "chance" in listing and "decoy" not in listing, listing
    records, reports = work / "out" / "records.jsonl", work / "out" / "reports"
    out = zsar_bench("--methods", "chance", "--datasets", "olympics", "--folds", "0", "--records", str(records),
                     "--reports-dir", str(reports), "--no-progress")
    rows = [json.loads(line) for line in records.read_text().splitlines() if line.strip()]
    assert [(r["method"], r["dataset"], r["fold"]) for r in rows] == [("chance", "olympics", 0)], out
    if have_git:
        assert rows[0]["git_sha"] == "unknown", "an installed harness recorded the commit of a repository around it"
    assert any(reports.iterdir()), f"no reports written in {reports}:\n{out}"
