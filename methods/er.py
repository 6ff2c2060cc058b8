"""ER (Chen and Huang, ICCV 2021) and its ablations, as registered methods.

- ``er``: the full model on the harness's shared frozen text encoder (default the packaged MiniLM);
  every class/concept text is embedded once and cached, only the small layers train.
- ``er-paper``: the published setting, bert-base-uncased with embeddings and layers 0-9 frozen and
  layers 10-11 fine-tuned (frozen prefix cached), Adam lr 1e-4.
- ``er-ed``: spatio-temporal stream + descriptions; no objects, no ER loss.
- ``er-obj``: object stream + descriptions + ER loss.
- ``er-noer``: the full model without the ER loss.
- ``er-name``: the full model with class names in place of descriptions.
"""
from dataclasses import replace

from zsar_bench import register_method
from zsar_bench.er import ElaborativeRehearsal
from zsar_bench.method import Ingredient


def _fidelity(replacements=(), extra=()):
    """ER's fidelity record with some ingredients replaced (by name) and some added."""
    by_name = {i.name: i for i in replacements}
    return tuple(by_name.get(i.name, i) for i in ElaborativeRehearsal.fidelity) + tuple(extra)


def _ablation(what: str) -> tuple:
    return _fidelity(extra=[Ingredient("ablation", what, what, True, "ER paper (ICCV 2021), ablation study",
                                       "the same switch on this implementation")])


def _variant(name: str, summary: str, test_params=None, fidelity=None, **defaults):
    base = ElaborativeRehearsal.__init__

    def __init__(self, **kw):
        base(self, **{**defaults, **kw})

    import inspect

    sig = inspect.signature(base)
    params = [p.replace(default=defaults.get(k, p.default)) if k != "self" else p for k, p in sig.parameters.items()]
    __init__.__signature__ = sig.replace(parameters=params)
    attrs = {"__init__": __init__, "summary": summary, "__doc__": summary}
    if test_params is not None:
        attrs["test_params"] = test_params
    if fidelity is not None:
        attrs["fidelity"] = fidelity
    cls = type(name.replace("-", "_").upper(), (ElaborativeRehearsal,), attrs)
    return register_method(name)(cls)


ER = register_method("er")(type("ER", (ElaborativeRehearsal,), {"__doc__": ElaborativeRehearsal.__doc__}))
_variant("er-paper", "ER, published setting: bert-base-uncased, layers 10-11 fine-tuned, Adam lr 1e-4",
         test_params={"text_encoder": "minilm", "epochs": "1", "lr": "1e-3", "max_length": "32"},  # offline: same code path
         text_encoder="bert-base-uncased", tower="partial", trainable_layers=2, lr=1e-4, max_length=100,
         fidelity=_fidelity([
             replace(ElaborativeRehearsal.fidelity[1], ours="bert-base-uncased, embeddings and layers 0-9 frozen "
                     "(their output cached), layers 10-11 fine-tuned", same=True,
                     why="the frozen prefix is computed once per text; tests pin cache = full encoder"),
             replace(ElaborativeRehearsal.fidelity[2], ours="same: dropout 0.5 on token states, then mean pooling",
                     why=""),
             replace(ElaborativeRehearsal.fidelity[9], ours="Adam lr 1e-4, batch 128, 10 epochs, exponential "
                     "warmup 1 epoch, cosine, grad clip 10",
                     why="warmup counted in epochs (1700 iterations is about one epoch of Kinetics-400 at batch 128)"),
         ]))
_variant("er-ed", "ER ablation: spatio-temporal stream + descriptions (no objects, no ER loss)",
         fidelity=_ablation("no object stream, no ER loss"), use_objects=False, er_loss=False)
_variant("er-obj", "ER ablation: object stream + descriptions + ER loss (no spatio-temporal stream)",
         fidelity=_ablation("no spatio-temporal stream"), use_video=False)
_variant("er-noer", "ER ablation: full model without the ER loss", fidelity=_ablation("no ER loss"), er_loss=False)
_variant("er-name", "ER ablation: full model with class names instead of descriptions",
         fidelity=_ablation("class names instead of descriptions"), text_style="name")
