import warnings

import pytest

from zsar_bench import Method, register_method
from zsar_bench.method import METHODS, PluginError, build_method
from zsar_bench.registry import Registry, RegistryError


def test_duplicate_name_raises():
    r = Registry("thing")
    r.register("a")(1)
    with pytest.raises(RegistryError, match="duplicate thing name 'a'"):
        r.register("a")(2)


def test_unknown_name_suggests_close_matches():
    r = Registry("method")
    for n in ("label", "er", "er-ed", "devise"):
        r.register(n)(n)
    with pytest.raises(RegistryError) as e:
        r.get("lable")
    assert "Did you mean: label" in str(e.value) and "Valid choices" in str(e.value)


def test_malformed_plugins_are_rejected_with_a_clear_message():
    class NoScore(Method):
        def __init__(self, a: int = 1):
            self.a = a

        def fit(self, data, ctx):
            return self

    with pytest.raises(PluginError, match="must implement score"):
        register_method("bad-no-score")(NoScore)

    class NoDefault(Method):
        def __init__(self, a):
            self.a = a

        def fit(self, data, ctx):
            return self

        def score(self, videos, classes):
            return None

    with pytest.raises(PluginError, match="needs a default"):
        register_method("bad-no-default")(NoDefault)
    with pytest.raises(PluginError, match="subclass of zsar_bench.Method"):
        register_method("bad-not-method")(object)
    assert "bad-no-score" not in METHODS and "bad-no-default" not in METHODS


def test_broken_builtin_plugin_warns_and_others_load(tmp_path, monkeypatch):
    import zsar_bench.plugins as pl

    (tmp_path / "good_one.py").write_text(
        "from zsar_bench import Method, register_method\n"
        "@register_method('tmp-good')\n"
        "class G(Method):\n"
        "    def __init__(self, k: int = 3):\n        self.k = k\n"
        "    def fit(self, data, ctx):\n        return self\n"
        "    def score(self, videos, classes):\n        return None\n")
    (tmp_path / "broken_one.py").write_text("import not_a_real_module_xyz\n")
    monkeypatch.setattr(pl, "BUILTIN_DIR", tmp_path)
    monkeypatch.setattr(pl, "_loaded", pl._loaded)  # restored afterwards: later tests load the real plugins
    monkeypatch.setenv(pl.DISABLE_ENV, "1")
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            names = pl.load_plugins(force=True)
        assert "tmp-good" in names
        assert any("methods/broken_one.py" in str(x.message) for x in w)
    finally:
        METHODS.unregister("tmp-good")


def test_entry_point_plugins_load_and_can_be_disabled(monkeypatch, tmp_path):
    import zsar_bench.plugins as pl

    calls = []

    class EP:
        name = "thirdparty"
        dist = type("D", (), {"name": "some-dist"})()

        def load(self):
            calls.append(1)
            raise ImportError("boom")

    monkeypatch.setattr(pl, "BUILTIN_DIR", tmp_path)
    monkeypatch.setattr(pl, "_loaded", pl._loaded)
    monkeypatch.setattr(pl, "entry_points", lambda group: [EP()] if group == pl.ENTRY_POINT_GROUP else [])
    monkeypatch.delenv(pl.DISABLE_ENV, raising=False)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        pl.load_plugins(force=True)
    assert calls and any("some-dist" in str(x.message) for x in w)
    calls.clear()
    monkeypatch.setenv(pl.DISABLE_ENV, "1")
    pl.load_plugins(force=True)
    assert not calls


def test_method_args_are_typed_and_checked(plugins):
    m = build_method("label", {"lr": "3e-3", "epochs": "4"})
    assert m.lr == 0.003 and m.epochs == 4 and isinstance(m.epochs, int)
    with pytest.raises(ValueError, match="no parameter 'nope'"):
        build_method("label", {"nope": "1"})
