"""ER (Chen and Huang, ICCV 2021) and its ablations, as registered methods.

- ``er``: the full model on the harness's shared frozen text encoder (default the packaged MiniLM);
  every class/concept text is embedded once and cached, only the small layers train.
- ``er-paper``: the published setting, bert-base-uncased with embeddings and layers 0-9 frozen and
  layers 10-11 fine-tuned (frozen prefix cached), Adam lr 1e-4.
- ``er-ed``: spatio-temporal stream + descriptions; no objects, no ER loss.
- ``er-obj``: object stream + descriptions + ER loss.
- ``er-noer``: the full model without the ER loss.
- ``er-name``: the full model with class names in place of descriptions.
- ``er-clip``: the full model on CLIP video features with the text tower of the features' own CLIP
  checkpoint (``text_encoder=clip``), frozen and cached. Features that record no CLIP model are refused.
  It uses object concepts as ``er`` does: a CLIP feature set without concept detections is refused with
  the fix (import them, or ``use_objects=false,er_loss=false``: the ``er-ed`` configuration), not run
  silently as another model under the same name.

Each variant is ``er`` with other defaults (``register_variant``): the same code under its own name, summary
and fidelity record.
"""
from dataclasses import replace

from zsar_bench import register_method
from zsar_bench.method import Ingredient, register_variant
from zsar_bench.models.er import ElaborativeRehearsal


def _fidelity(replacements=(), extra=()):
    """ER's fidelity record with some ingredients replaced (by name) and some added."""
    by_name = {i.name: i for i in replacements}
    return tuple(by_name.get(i.name, i) for i in ElaborativeRehearsal.fidelity) + tuple(extra)


def _ablation(what: str) -> tuple:
    return _fidelity(extra=[Ingredient("ablation", what, what, True, "ER paper (ICCV 2021), ablation study",
                                       "the same switch on this implementation")])


@register_method("er")
class ER(ElaborativeRehearsal):
    __doc__ = ElaborativeRehearsal.__doc__


ErPaper = register_variant(
    "er-paper", ER, "ER, published setting: bert-base-uncased, layers 10-11 fine-tuned, Adam lr 1e-4",
    defaults=dict(text_encoder="bert-base-uncased", tower="partial", trainable_layers=2, lr=1e-4, max_length=100),
    test_params={"text_encoder": "minilm", "epochs": "1", "lr": "1e-3", "max_length": "32"},  # offline: same code path
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
ErEd = register_variant("er-ed", ER, "ER ablation: spatio-temporal stream + descriptions (no objects, no ER loss)",
                        defaults=dict(use_objects=False, er_loss=False),
                        fidelity=_ablation("no object stream, no ER loss"))
ErObj = register_variant("er-obj", ER,
                         "ER ablation: object stream + descriptions + ER loss (no spatio-temporal stream)",
                         defaults=dict(use_video=False), fidelity=_ablation("no spatio-temporal stream"))
ErNoer = register_variant("er-noer", ER, "ER ablation: full model without the ER loss", defaults=dict(er_loss=False),
                          fidelity=_ablation("no ER loss"))
ErName = register_variant("er-name", ER, "ER ablation: full model with class names instead of descriptions",
                          defaults=dict(text_style="name"), fidelity=_ablation("class names instead of descriptions"))

_F = {i.name: i for i in ElaborativeRehearsal.fidelity}
_CLIP_WHY = "the CLIP-era configuration: video and text towers from one CLIP checkpoint"
ErClip = register_variant(
    "er-clip", ER, "ER on CLIP video features with the features' own CLIP text tower (frozen, cached)",
    defaults=dict(text_encoder="clip", max_length=77), feature_model="clip",
    fidelity=_fidelity([
        replace(_F["text encoder"], ours="the text tower of the checkpoint the video features came from "
                "(text_encoder=clip, identity key matched), frozen and cached; texts truncated at CLIP's "
                "77-token context (the joined top-5 object texts often are)", same=False,
                why=f"{_CLIP_WHY}; fine-tuning CLIP's top layers (er-paper's partial tower) is not implemented"),
        replace(_F["text module"], ours="dropout 0.5 on the cached CLIP text embedding (projected, L2-normalised "
                "end token: CLIP's pooling, not a mean), Linear(D_clip -> 512), L2", same=False,
                why="CLIP pools its end token and projects into the joint space; token states are not cached"),
        replace(_F["video stream"], ours="Linear(D_clip -> 512) on the CLIP video embedding, no dropout, L2",
                same=False, why=_CLIP_WHY),
        replace(_F["concepts"], ours="the CLIP feature set's concept detections; a set without them is refused "
                "(use_objects=false, er_loss=false runs the er-ed configuration instead)",
                why="real detections need the BiT extractor; a silent fallback would record another model "
                "under this name"),
    ], extra=[Ingredient("video features", "TSM ResNet-50 (Kinetics-400) clip features, 2048-d",
                         "CLIP video embeddings: frame image embeddings (ER's 8 BiT frames), L2-normalised, "
                         "averaged, normalised again; the manifest records the CLIP checkpoint", False,
                         "ER paper (ICCV 2021), implementation details", _CLIP_WHY)]))
