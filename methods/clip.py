"""``clip``: zero-shot CLIP (Radford et al., "Learning Transferable Visual Models From Natural Language
Supervision", ICML 2021) on CLIP video embeddings, with no training.

A clip's score for a class is the cosine between its video embedding (the feature set's CLIP embedding:
L2-normalised frame embeddings averaged and normalised again, ``zsar_bench.clip.encode_clip_frames``) and
the class embedding from CLIP's own text tower: the class text (``text_style``, default the readable name)
fills every template of ``templates`` (``ensemble``: CLIP's 28 Kinetics-700 prompts; ``video``: "a video of
a person {}."; ``none``: the bare text) and the L2-normalised prompt embeddings are averaged and normalised
again (prompt ensembling, ``zsar_bench.clip.class_embeddings``). CLIP multiplies cosines by its logit scale
before a softmax; that changes no ranking, so the scores here are plain cosines.

The text tower must be the one the video embeddings came from. ``weights=""`` (default) loads the feature
set's own model, as its manifest records it (``FitData.model``); a given ``weights`` (folder or hub id) must
have the same identity key, and a mismatch is refused naming both keys. A feature set that records no CLIP
model is refused too. Prompt embeddings are cached on disk by the model's identity key
(``text_encoder=clip:WEIGHTS`` in ``zsar_bench.text.encoders``) and class embeddings in this process.

The implementation is ``zsar_bench.models.clip.ClipZeroShot``, shared with ``clip-adapter``.
"""
from __future__ import annotations

from zsar_bench import register_method
from zsar_bench.models.clip import ClipZeroShot


@register_method("clip")
class Clip(ClipZeroShot):
    __doc__ = ClipZeroShot.__doc__


__all__ = ["Clip"]
