"""Elaborative Rehearsal (Chen and Huang, ICCV 2021), written for this harness after the official
release (DeLightCMU/ElaborativeRehearsal: zeroshot/models/ervse.py ``PrecompERVSEModel`` with
``PrecompERVSEModelLFHelper``, zeroshot/modules/text.py, zeroshot/configs/zsl_ervse_config.yaml).

Text module (one for class texts, concept texts and the clip's object text): token states of the
text encoder, dropout 0.5, masked mean pooling, Linear(hidden -> 512), L2 norm.
Video: spatio-temporal stream Linear(2048 -> 512) + L2 norm; object stream = the clip's top-5
concepts as "name: definition" texts joined by spaces, through the same text module. Fusion: two
sigmoid gates, each Linear(1024, 512), ReLU, Dropout(0.5), Linear(512, 512), Sigmoid on [v; o];
v' = norm(g_v * v), o' = norm(g_o * o). Class score s = v'.z + max(o'.z, 0).
Action loss: CE(s/t) + CE(v'.z/t) + CE(o'.z/t) over the seen classes, t = 0.1.
ER loss: candidates = the union of the batch clips' top-5 concepts, encoded as texts; a clip's own
concepts are its positives; -mean over positives of log_softmax(scores/t), for the fused score
v'.c + o'.c (no clamp: the clamp is in the class score only), v'.c and o'.c, summed; weight 1.
Weight decay 1e-4 on every projection and gate, none on the text encoder's fine-tuned layers.

Two text towers: ``frozen`` (the harness's shared encoder, every text embedded once and cached:
the fast default; dropout then acts on the pooled embedding, since token states are not cached)
and ``partial`` (ER's published setting: top layers fine-tuned, frozen prefix cached; dropout on
the token states before pooling, as released; see ``text/partial.py``).

CLIP's text tower (``er-clip``): ``text_encoder=clip`` is the text tower of the feature set's own CLIP
model (``FitData.model``; features without one are refused), ``text_encoder=clip:WEIGHTS`` a named
checkpoint (refused when the features record another CLIP model). Frozen tower only: its pooled input
is CLIP's projected, L2-normalised end-token embedding, cached on disk by the model's identity key.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..method import FitContext, Ingredient, Method, TextEncoding
from ..text.encoders import clip_text_spec, get_text_encoder, is_clip_spec
from ..text.partial import PartialFineTuneEncoder
from ..text.styles import class_texts
from ..types import ClassInfo, ConceptVocabulary, FitData, Videos

N_OBJECTS = 5
CONCEPT_SEP = " "  # the release joins the clip's concept texts with a space (datasets/prevideo.py)

# Text input to the text module: pooled embeddings [n, H] (frozen tower) or (token states [n, L, H], mask [n, L]).
TextInput = Union[torch.Tensor, tuple]


def object_texts(concepts: ConceptVocabulary, ids: np.ndarray, k: int = N_OBJECTS, sep: str = CONCEPT_SEP) -> list[str]:
    """One text per clip: its top-k concepts as "name: definition", joined."""
    vocab = concepts.texts()
    return [sep.join(vocab[j] for j in row[:k]) for row in ids]


class TextHead(nn.Module):
    """The release's ``TextEncoder`` with avg pooling: dropout on token states, masked mean, Linear, L2."""

    def __init__(self, text_dim: int, dim: int, dropout: float = 0.5):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(text_dim, dim)

    def forward(self, inp: TextInput) -> torch.Tensor:
        if isinstance(inp, tuple):  # token states: dropout before pooling, as released
            hidden, mask = inp
            m = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (self.dropout(hidden) * m).sum(1) / m.sum(1).clamp(min=1.0)
        else:  # pooled embeddings of the frozen, cached tower
            pooled = self.dropout(inp)
        return F.normalize(self.fc(pooled), dim=-1)


def gate(dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(2 * dim, dim), nn.ReLU(), nn.Dropout(0.5), nn.Linear(dim, dim), nn.Sigmoid())


class ERNet(nn.Module):
    def __init__(self, feat_dim: int, text_dim: int, dim: int = 512, use_video: bool = True, use_objects: bool = True,
                 text_dropout: float = 0.5, tower: Optional[nn.Module] = None):
        super().__init__()
        self.use_video, self.use_objects = use_video, use_objects
        self.text_head = TextHead(text_dim, dim, text_dropout)  # class, concept and object texts alike
        if use_video:
            self.video_fc = nn.Linear(feat_dim, dim)
        if use_video and use_objects:
            self.gate_v = gate(dim)
            self.gate_o = gate(dim)
        self.tower = tower  # trainable text encoder (partial fine-tuning) or None (frozen embeddings)

    def text(self, inp: TextInput) -> torch.Tensor:
        return self.text_head(inp)

    def video(self, x: Optional[torch.Tensor], obj: Optional[TextInput]):
        v = F.normalize(self.video_fc(x), dim=-1) if self.use_video else None
        o = self.text(obj) if self.use_objects else None
        if v is not None and o is not None:
            vo = torch.cat([v, o], -1)
            v, o = F.normalize(self.gate_v(vo) * v, dim=-1), F.normalize(self.gate_o(vo) * o, dim=-1)
        return v, o

    @staticmethod
    def scores(v, o, z, clamp: bool = True) -> dict[str, torch.Tensor]:
        """Per-stream scores against text embeddings ``z``; ``fused`` = video + object part, the object
        part clamped at 0 for class scores (``clamp=True``) and not for the ER loss."""
        out = {}
        if v is not None:
            out["video"] = v @ z.T
        if o is not None:
            out["object"] = o @ z.T
        if v is not None and o is not None:
            out["fused"] = out["video"] + (out["object"].clamp(min=0) if clamp else out["object"])
        return out

    @staticmethod
    def final(scores: dict[str, torch.Tensor]) -> torch.Tensor:
        return scores.get("fused", scores.get("video", scores.get("object")))

    def param_groups(self, weight_decay: float) -> list[dict]:
        """Projections and gates with ``weight_decay``; the text encoder's trainable layers without (as released)."""
        tower_ids = {id(p) for p in self.tower.parameters()} if self.tower is not None else set()
        rest = [p for p in self.parameters() if p.requires_grad and id(p) not in tower_ids]
        groups = [{"params": rest, "weight_decay": weight_decay, "name": "projections"}]
        if self.tower is not None:
            groups.append({"params": [p for p in self.tower.parameters() if p.requires_grad], "weight_decay": 0.0,
                           "name": "text encoder"})
        return groups


def action_loss(sc: dict[str, torch.Tensor], y: torch.Tensor, t: float) -> torch.Tensor:
    """Sum over streams of CE(scores / t) on the seen classes."""
    return sum(F.cross_entropy(s / t, y) for s in sc.values())


def er_loss(sc: dict[str, torch.Tensor], pos: torch.Tensor, t: float) -> torch.Tensor:
    """Sum over streams of -mean over positive (clip, concept) pairs of log_softmax(scores / t).
    The positives' flat positions are found once for the three streams: the same elements in the same order as
    indexing each stream by the boolean mask, so the loss and its gradients are the same bit for bit."""
    where = pos.reshape(-1).nonzero().squeeze(1)
    return sum(-F.log_softmax(s / t, dim=1).reshape(-1)[where].mean() for s in sc.values())


class ElaborativeRehearsal(Method):
    """ER and its ablations; see the module docstring. ``tower``: frozen | partial."""

    summary = "Elaborative Rehearsal (ICCV 2021): ED class texts, video + object streams, gated fusion, ER loss"
    test_params = {"epochs": "4", "batch_size": "64"}
    revision = 2  # 2: object text through the shared text module, gate dropout, token dropout, unclamped ER loss
    fidelity = (
        Ingredient("class text", "ED \"cleaned_word: cleaned_defn\" (cat_word_with_defn 2)",
                   "\"name: description\"; the project's own descriptions, or ER's JSON via --descriptions "
                   "(cleaned fields when present)", True, "zeroshot/datasets/prevideo.py",
                   "same form; the default wording is the project's own (ER's EDs may not be copied)"),
        Ingredient("text encoder", "bert-base-uncased; embeddings and layers 0-9 frozen, 10-11 fine-tuned",
                   "er: packaged MiniLM-L6, frozen and cached; er-paper: bert-base-uncased, layers 10-11 "
                   "fine-tuned", False, "zeroshot/configs/zsl_ervse_config.yaml (fix_bert_before: encoder.layer.10)",
                   "er is the fast offline default; er-paper is the published setting (needs the BERT weights)"),
        Ingredient("text module", "dropout 0.5 on token states, mean pooling, Linear(768 -> 512), L2",
                   "same (TextHead); the frozen tower applies the dropout to the cached pooled embedding",
                   True, "zeroshot/modules/text.py TextEncoder",
                   "frozen tower: token states are not cached, so dropout acts after pooling"),
        Ingredient("object stream", "top-5 concepts \"name: definition\" joined by spaces, through the text "
                   "module shared with class texts", "same", True,
                   "zeroshot/models/ervse.py (comb_obj_stream), zeroshot/datasets/prevideo.py"),
        Ingredient("video stream", "Linear(2048 -> 512), no dropout, L2", "same", True,
                   "zeroshot/modules/video.py GlobalFtEncoder"),
        Ingredient("fusion gates", "Linear(1024, 512), ReLU, Dropout(0.5), Linear(512, 512), Sigmoid; "
                   "v' = norm(g_v v), o' = norm(g_o o)", "same", True, "zeroshot/models/ervse.py fusion_type 3"),
        Ingredient("class score", "v'.z + max(o'.z, 0)", "same", True,
                   "zeroshot/models/ervse.py clamp_obj_logits"),
        Ingredient("action loss", "CE(s/t) + CE(v'.z/t) + CE(o'.z/t), t = 0.1", "same", True,
                   "zeroshot/models/ervse.py PrecompERVSEModelLFHelper"),
        Ingredient("ER loss", "batch union of top-5 concepts as candidates; -mean log-softmax of positives for "
                   "v'.c + o'.c (no clamp), v'.c, o'.c; weight 1", "same", True,
                   "zeroshot/models/ervse.py PrecompERVSEModelLFHelper"),
        Ingredient("optimiser", "Adam lr 1e-4, batch 128, 10 epochs, exponential warmup 1700 iters, cosine, "
                   "grad clip 10", "er: Adam lr 1e-3 (frozen tower); er-paper: lr 1e-4; warmup 1 epoch "
                   "(exponential), cosine, grad clip 10, batch 128, 10 epochs", False,
                   "zeroshot/configs/zsl_ervse_config.yaml",
                   "warmup in epochs (1700 iterations is about one epoch of Kinetics-400 at batch 128); er's higher "
                   "lr suits its frozen tower"),
        Ingredient("weight decay", "1e-4 on projections and gates, 0 on the text encoder", "same", True,
                   "zeroshot/configs/zsl_ervse_config.yaml, framework/trainer.py build_optimizer"),
        Ingredient("model selection", "best epoch on the 60 validation classes (Kinetics-ZSAR)",
                   "best epoch on the protocol's validation classes; fixed schedule where a protocol has none", True,
                   "zeroshot/driver/zsl_ervse.py"),
        Ingredient("concepts", "BiT-M R50x1 ImageNet-21k top-5 per clip, WordNet definitions",
                   "the feature set's concept detections (synthetic: a simulated noisy detector)", False,
                   "zeroshot/datasets/prevideo.py", "real detections need the BiT extractor on real videos"),
        Ingredient("mixed precision", "apex fp16 (opt level 2)", "bf16/fp16 autocast on CUDA, fp32 on CPU", False,
                   "zeroshot/configs/zsl_ervse_config.yaml (fp16_opt)", "apex is unmaintained; torch.autocast"),
    )

    def __init__(self, text_encoder: str = "minilm", tower: str = "frozen", trainable_layers: int = 2,
                 text_style: str = "name: description", use_video: bool = True, use_objects: bool = True,
                 er_loss: bool = True, er_weight: float = 1.0, dim: int = 512, temperature: float = 0.1,
                 lr: float = 1e-3, epochs: int = 10, batch_size: int = 128, weight_decay: float = 1e-4,
                 warmup_epochs: float = 1.0, grad_clip: float = 10.0, max_length: int = 128):
        self.text_encoder = text_encoder
        self.tower = tower
        self.trainable_layers = trainable_layers
        self.text_style = text_style
        self.use_video = use_video
        self.use_objects = use_objects
        self.er_loss = er_loss
        self.er_weight = er_weight
        self.dim = dim
        self.temperature = temperature
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.warmup_epochs = warmup_epochs
        self.grad_clip = grad_clip
        self.max_length = max_length

    @property
    def needs_concepts(self) -> bool:  # type: ignore[override]
        return self.use_objects or self.er_loss

    # -- text embeddings ---------------------------------------------------------------------------
    def _text_spec(self, data: FitData) -> str:
        """The encoder spec the text module reads: ``text_encoder``, with ``clip`` (the features' own CLIP model)
        and ``clip:WEIGHTS`` resolved and checked against the feature set's recorded model."""
        if not is_clip_spec(self.text_encoder):
            return self.text_encoder
        if self.tower != "frozen":
            raise ValueError(f"{self.name}: text_encoder={self.text_encoder} (CLIP's text tower) runs frozen only; "
                             "set tower=frozen")
        weights = self.text_encoder[len("clip:"):] if self.text_encoder.startswith("clip:") else ""
        return clip_text_spec(weights, data.model, self.name, max_length=self.max_length,
                              require_features_model=not weights)

    def text_encodings(self, classes: Sequence[ClassInfo], concepts: Optional[ConceptVocabulary],
                       concept_ids: Optional[np.ndarray]) -> list[TextEncoding]:
        """The frozen tower's texts over a whole feature set: every class text, the concept texts (ER loss) and
        every clip's object text (object stream), so the driver encodes them once with every core. A CLIP
        tower that names no checkpoint (``clip``: the features' own) is resolved at fit and left out here."""
        if self.tower != "frozen" or self.text_encoder == "clip":
            return []
        texts = class_texts(classes, self.text_style)
        if concepts is not None:
            if self.er_loss:
                texts += concepts.texts()
            if self.use_objects and concept_ids is not None:
                texts += object_texts(concepts, concept_ids)
        return [TextEncoding(self.text_encoder, self.max_length, tuple(texts))]

    def _embed(self, texts: Sequence[str], grad: bool = False) -> TextInput:
        """Input of the text module: cached pooled embeddings (frozen) or token states (partial tower)."""
        if self.tower == "frozen":
            enc = get_text_encoder(getattr(self, "text_spec_", self.text_encoder), max_length=self.max_length)
            return torch.as_tensor(enc.encode(list(texts)), device=self.device_)
        ids = self.net_.tower.register(texts)
        if grad:
            return self.net_.tower.token_states(ids)
        with torch.no_grad():
            return self.net_.tower.token_states(ids)

    def _check_concepts(self, videos: Videos) -> None:
        if (self.use_objects or self.er_loss) and (videos.concept_ids is None or self.concepts_ is None):
            raise ValueError(f"{self.name}: needs object concept detections; this feature set has none (import them "
                             "with import-features --objects, or run without them: use_objects=false, "
                             "er_loss=false, ER's er-ed ablation)")

    # -- fit ---------------------------------------------------------------------------------------
    def fit(self, data: FitData, ctx: FitContext) -> "ElaborativeRehearsal":
        if self.tower not in ("frozen", "partial"):
            raise ValueError(f"tower must be 'frozen' or 'partial', got {self.tower!r}")
        ctx.rewind_rng()  # the run's seeded state (seeded here only for a fit called outside the harness)
        self.device_ = dev = ctx.device
        self.concepts_ = data.concepts
        train = data.train
        self.text_spec_ = self._text_spec(data)  # first: a CLIP tower on features of another model is refused
        self._check_concepts(train.videos)
        self.net_ = self._build_net(train.videos.features.shape[1]).to(dev)
        y = torch.as_tensor(train.labels, device=dev)
        step = self._train_step(train, y, dev)
        tr = ctx.trainer(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                         warmup_epochs=self.warmup_epochs, warmup="exponential", grad_clip=self.grad_clip)
        tr.fit(self, self.net_, len(y), step, param_groups=self.net_.param_groups(self.weight_decay))
        return self

    def _build_net(self, feat_dim: int) -> "ERNet":
        """The network, with the partial tower's fine-tuned encoder inside it, or sized for the frozen encoder."""
        tower = None
        if self.tower == "partial":
            tower = PartialFineTuneEncoder(self.text_encoder, self.trainable_layers, self.max_length)
            text_dim = tower.hidden_size
        else:
            text_dim = get_text_encoder(self.text_spec_, max_length=self.max_length).dim
        return ERNet(feat_dim, text_dim, self.dim, self.use_video, self.use_objects, tower=tower)

    def _train_step(self, train, y: torch.Tensor, dev) -> Callable[[torch.Tensor], torch.Tensor]:
        """The trainer's step on a batch of clip indices: the action loss over the seen classes, plus the ER loss
        over the batch's concepts (``er_loss``)."""
        t = self.temperature
        x = torch.as_tensor(train.videos.features, dtype=torch.float32, device=dev) if self.use_video else None
        cls_texts = class_texts(train.classes, self.text_style)
        uses_concepts = self.use_objects or self.er_loss
        cids = torch.as_tensor(train.videos.concept_ids[:, :N_OBJECTS].astype(np.int64), device=dev) if uses_concepts else None
        obj_txt = object_texts(self.concepts_, train.videos.concept_ids) if self.use_objects else None
        concept_txt = self.concepts_.texts() if self.er_loss else None
        frozen = self.tower == "frozen"
        cls_in, obj_in, con_in = self._train_text_inputs(cls_texts, obj_txt, concept_txt)

        def tokens(ids: torch.Tensor):
            h, m = self.net_.tower.token_states(ids)
            return h.to(dev), m.to(dev)

        def step(idx: torch.Tensor) -> torch.Tensor:
            net = self.net_
            if frozen:
                z = net.text(cls_in)
                o_in = obj_in[idx] if obj_in is not None else None
            else:
                z = net.text(tokens(cls_in))
                o_in = tokens(obj_in[idx.cpu()]) if obj_in is not None else None
            v, o = net.video(x[idx] if x is not None else None, o_in)
            loss = action_loss(net.scores(v, o, z), y[idx], t)
            if self.er_loss:
                batch_c = cids[idx]  # [B, 5]
                cand, inverse = torch.unique(batch_c, return_inverse=True)
                c = net.text(con_in[cand] if frozen else tokens(con_in[cand.cpu()]))
                pos = torch.zeros(len(idx), len(cand), device=dev)
                pos.scatter_(1, inverse, 1.0)
                loss = loss + self.er_weight * er_loss(net.scores(v, o, c, clamp=False), pos, t)
            return loss

        return step

    def _train_text_inputs(self, cls_texts: list[str], obj_txt: Optional[list[str]], concept_txt: Optional[list[str]]):
        """(class, object, concept) text inputs of the training step: fixed embeddings (frozen tower) or the
        partial tower's text ids (its frozen prefix precomputed); None for texts not used."""
        if self.tower == "frozen":  # every text has a fixed embedding: encode once (disk-cached), index per step
            cls_emb = self._embed(cls_texts)
            obj_emb = self._embed(obj_txt) if obj_txt else None
            con_emb = self._embed(concept_txt) if concept_txt else None
            return cls_emb, obj_emb, con_emb
        tw = self.net_.tower
        cls_ids = tw.register(cls_texts)
        obj_ids = tw.register(obj_txt) if obj_txt else None
        con_ids = tw.register(concept_txt) if concept_txt else None
        tw.precompute()
        return cls_ids, obj_ids, con_ids

    # -- score -------------------------------------------------------------------------------------
    @torch.no_grad()
    def score(self, videos: Videos, classes: Sequence[ClassInfo]) -> np.ndarray:
        self._check_concepts(videos)
        net = self.net_
        was_training = net.training
        net.eval()
        z = net.text(self._embed(class_texts(classes, self.text_style)))
        out = []
        step = 2048 if self.tower == "frozen" else 256
        for i in range(0, len(videos), step):
            sl = slice(i, i + step)
            x = torch.as_tensor(videos.features[sl], dtype=torch.float32, device=self.device_) if self.use_video else None
            o = self._embed(object_texts(self.concepts_, videos.concept_ids[sl])) if self.use_objects else None
            v, o = net.video(x, o)
            out.append(net.final(net.scores(v, o, z)).float().cpu().numpy())
        net.train(was_training)
        return np.concatenate(out)
