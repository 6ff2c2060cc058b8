"""Shared pieces of the classic zero-shot baselines (``methods/w2v.py`` ... ``methods/dem.py``).

- ``class_semantics``: one L2-normalised semantic vector per class, from word vectors of the
  readable name (the default, ``semantic="glove50"`` or a 300-d word-vector path such as
  GoogleNews-vectors-negative300.bin, as Brattoli et al. used, or glove.42B.300d.txt, as ER did),
  optionally preprocessed as E2E did (``name_prep="e2e"``), or from the text encoder
  (``semantic="text:minilm"``, any encoder spec after ``text:``, with ``text_style`` choosing the
  class text);
- ``SemanticBaseline``: a ``Method`` holding that choice plus the visual-feature preparation
  (standardised with the training clips' mean and standard deviation, optionally ZCA-whitened
  with their covariance; both stored in fit);
- ``BilinearMethod``: compatibility F(x, c) = (W x)^T s_c trained through the common trainer, with
  ER's dropout on both inputs during training; DeViSE, ALE and SJE differ only in ``pair_loss``;
- the closed forms: ``eszsl_solve`` and ``sae_solve`` (with ``solve_sylvester_sym``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.linalg as sla
import torch
from scipy.linalg import lapack

from ..method import FitContext, Ingredient, Method, ParamError
from ..text.encoders import get_text_encoder
from ..text.styles import class_texts
from ..text.wordvectors import NAME_PREPS, load_word_vectors, name_vectors
from ..types import ClassInfo, FitData, Videos
from .projection import to_tensor

TEXT_PREFIX = "text:"
SCORE_CHUNK = 4096


# -- class semantics ------------------------------------------------------------------------------
def l2_rows(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit L2 norm; an all-zero row stays zero."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), eps)


def class_semantics(classes: Sequence[ClassInfo], semantic: str = "glove50", text_style: str = "name",
                    name_prep: str = "none") -> np.ndarray:
    """[C, k] float32 class vectors, each row L2-normalised.

    ``semantic``: ``text:SPEC`` encodes ``class_text(c, text_style)`` with the text encoder SPEC
    (``minilm``, ``hf:...``, ``st:...``); anything else is a word-vector spec for
    ``load_word_vectors`` (``glove50``, a ``.bin``/``.txt``/``.kv`` path, ``fasttext:PATH``) and a
    class is the mean vector of its readable name's words (``text_style`` is then unused), the words
    chosen by ``name_prep`` (``none``: the project's tokeniser; ``e2e``: Brattoli et al.'s
    preprocessing, see ``text.wordvectors.e2e_name_words``). A name without any known word gets a
    zero vector, hence zero similarity to everything.
    """
    if semantic.startswith(TEXT_PREFIX):
        if name_prep != "none":
            raise ValueError(f"name_prep={name_prep!r} preprocesses names for word vectors; semantic={semantic!r} "
                             "is a text encoder (use name_prep=none, or word vectors)")

        vecs = get_text_encoder(semantic[len(TEXT_PREFIX):] or "minilm").encode(class_texts(classes, text_style))
    else:
        vecs = name_vectors(load_word_vectors(semantic), [c.name for c in classes], name_prep,
                            [c.identifier for c in classes])
    return l2_rows(vecs)


class SemanticBaseline(Method):
    """Class vectors from ``semantic``/``text_style``; clip features standardised with training statistics."""

    semantic: str
    text_style: str
    whiten: float = 0.0  # > 0: ZCA-whiten after standardising, eigenvalues shrunk by whiten * their mean
    name_prep: str = "none"  # class-name words for word vectors: none | e2e (a parameter where a method offers it)

    def class_vectors(self, classes: Sequence[ClassInfo]) -> np.ndarray:
        return class_semantics(classes, self.semantic, self.text_style, self.name_prep)

    def validate_params(self) -> None:
        super().validate_params()

        if self.name_prep not in NAME_PREPS:
            raise ParamError(f"--method-args {self.name}.name_prep={self.name_prep}: choose one of {', '.join(NAME_PREPS)}")
        if self.name_prep != "none" and self.semantic.startswith(TEXT_PREFIX):
            raise ParamError(f"--method-args {self.name}.name_prep={self.name_prep}: it preprocesses class names "
                             f"for word vectors, but semantic={self.semantic} is a text encoder")
        p = getattr(self, "dropout", 0.0)
        if not (isinstance(p, (int, float)) and 0.0 <= float(p) < 1.0):
            raise ParamError(f"--method-args {self.name}.dropout={p}: must be at least 0 and below 1")

    def _fit_features(self, data: FitData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(prepared training features [N, D], labels [N], seen class vectors [z, k]); stores the
        standardiser ``x_mean_``/``x_scale_`` and, with ``whiten``, the whitening map ``x_white_``."""
        x = np.asarray(data.train.videos.features, dtype=np.float32)
        self.x_mean_ = x.mean(0, dtype=np.float64).astype(np.float32)
        std = x.std(0, dtype=np.float64)
        self.x_scale_ = np.where(std > 1e-6, std, 1.0).astype(np.float32)
        self.x_white_ = None
        if self.whiten > 0:
            xs = self._standardise(x)
            ev, vecs = sla.eigh(xs.T @ xs / len(xs), driver="evd", check_finite=False)
            ev = np.clip(ev, 0.0, None)
            shrink = self.whiten * max(float(ev.mean()), 1e-12)
            self.x_white_ = ((vecs / np.sqrt(ev + shrink)) @ vecs.T).astype(np.float32)  # ZCA
        return self.features(x), np.asarray(data.train.labels, dtype=np.int64), self.class_vectors(data.train.classes)

    def _fit_tensors(self, data: FitData, ctx: FitContext):
        """``_fit_features`` as tensors on ``ctx.device`` (stored as ``device_``), from the run's seeded RNG state
        (``ctx.rewind_rng``: seeded there only for a fit called outside the harness)."""
        ctx.rewind_rng()
        self.device_ = dev = ctx.device
        x_np, y_np, s_np = self._fit_features(data)
        return to_tensor(x_np, dev), torch.as_tensor(y_np, device=dev), to_tensor(s_np, dev)

    def _standardise(self, feats: np.ndarray) -> np.ndarray:
        return ((np.asarray(feats, dtype=np.float32) - self.x_mean_) / self.x_scale_).astype(np.float32)

    def features(self, feats: np.ndarray) -> np.ndarray:
        """Clip features as the method sees them: standardised, then whitened when ``whiten`` > 0."""
        x = self._standardise(feats)
        return x if self.x_white_ is None else x @ self.x_white_


def chunks(videos: Videos, size: int = SCORE_CHUNK):
    for i in range(0, len(videos), size):
        yield videos.features[i:i + size]


def stack_scores(parts: list, n_classes: int) -> np.ndarray:
    """Concatenate per-chunk score blocks; an empty video set gives a [0, C] array."""
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, n_classes), np.float32)


# -- bilinear compatibility (DeViSE, ALE, SJE) ----------------------------------------------------
class BilinearMethod(SemanticBaseline):
    """F(x, c) = (W x)^T s_c with x standardised and s_c unit-norm; W (no bias) trained through the
    common trainer on a ranking loss over the seen classes (``pair_loss``). During training, as in
    ER's release, dropout (rate ``dropout``) is applied to the clip features and to the (normalised)
    class vectors before the product; the learning rate warms up exponentially over the first epoch
    (the trainer's ER-style warmup), then follows a cosine."""

    def __init__(self, semantic: str = "glove50", text_style: str = "name", margin: float = 0.1, lr: float = 1e-3,
                 epochs: int = 30, batch_size: int = 128, weight_decay: float = 0.0, dropout: float = 0.5):
        """ER's released settings for its three bilinear baselines (ALE, DeViSE, SJE share them)."""
        self.semantic = semantic
        self.text_style = text_style
        self.margin = margin
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.dropout = dropout

    def pair_loss(self, scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """scores [B, z] over the seen classes, y [B] -> scalar loss."""
        raise NotImplementedError

    @staticmethod
    def violations(scores: torch.Tensor, y: torch.Tensor, margin: float) -> torch.Tensor:
        """[B, z]: max(0, margin + F(x, j) - F(x, y)) for j != y, 0 at j = y."""
        true = scores.gather(1, y[:, None])
        v = (margin + scores - true).clamp(min=0)
        return v.masked_fill(torch.nn.functional.one_hot(y, scores.shape[1]).bool(), 0.0)

    def fit(self, data: FitData, ctx: FitContext) -> "BilinearMethod":
        x, y, s = self._fit_tensors(data, ctx)
        self.W_ = torch.nn.Linear(x.shape[1], s.shape[1], bias=False).to(self.device_)

        p = float(self.dropout)

        def step(idx: torch.Tensor) -> torch.Tensor:  # training only, so dropout is always on here
            xb = torch.nn.functional.dropout(x[idx], p) if p > 0 else x[idx]
            sb = torch.nn.functional.dropout(s, p) if p > 0 else s
            return self.pair_loss(self.W_(xb) @ sb.T, y[idx])

        ctx.trainer(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                    warmup="exponential").fit(self, self.W_, len(y), step)
        return self

    @torch.no_grad()
    def score(self, videos: Videos, classes: Sequence[ClassInfo]) -> np.ndarray:
        s = to_tensor(self.class_vectors(classes), self.device_)
        out = [(self.W_(to_tensor(self.features(f), self.device_)) @ s.T).float().cpu().numpy() for f in chunks(videos)]
        return stack_scores(out, len(classes))


ER_CONFIGS = "zeroshot/configs/zsl_baseline_{}_config.yaml"  # in ER's release (Chen and Huang, ICCV 2021)
ER_FEATURES = Ingredient(
    "clip features", "TSM ResNet-50 2048-d features as stored, not normalised", "standardised with the training "
    "clips' mean and standard deviation", False, "zeroshot/datasets/prevideo.py (ZSLPrecompVideoLabelEmbedDataset)",
    "the harness's common preparation for every backbone; margins and ridges act on that scale")
ER_SELECTION = Ingredient(
    "model selection", "best epoch on the validation classes", "best epoch on the protocol's validation classes; the "
    "final epoch where a protocol has none", True, "zeroshot/driver/zsl_baselines.py (find_best_val_models)")


def er_class_vectors(paper: str, normalised: bool = True) -> Ingredient:
    """The class-vector ingredient of a baseline that ER's release trained on GloVe 42B vectors."""
    norm = ", L2-normalised" if normalised else ", not normalised"
    return Ingredient(
        "class vectors", f"GloVe 42B 300-d vectors of the class names (labels_glove42b.npy){norm}",
        "mean GloVe 6B 50-d vector of the name's words (semantic=glove50), L2-normalised; semantic=PATH takes "
        "glove.42B.300d.txt or any 300-d word2vec/GloVe file", False, ER_CONFIGS.format("*") + " (label_embed_file)",
        f"the 42B file is not packaged; the release ships ER's 620 x 300 matrix, not how multi-word names were "
        f"combined; {paper}")


def er_schedule(config: str) -> tuple[Ingredient, ...]:
    """Schedule, gradient clipping and weight decay as ER's baseline configs set them (all the same)."""
    return (
        Ingredient("lr schedule", "exponential warmup over 2000 iterations from lr/128, then cosine (T_max 50000 "
                   "iterations); gradient norm clipped at 10", "exponential warmup over the first epoch (from about "
                   "lr/148), then cosine to 0 over the run; gradient norm clipped at 10", False,
                   f"{config} (lr_scheduler, clip_gradient); framework/lr_helper.py",
                   "the trainer counts in epochs: one Kinetics-400 epoch at batch 128 is about 2000 iterations"),
    )


def er_bilinear_fidelity(method: str, paper_vectors: str) -> tuple[Ingredient, ...]:
    """What DeViSE, ALE and SJE share in ER's release (zeroshot/models/baselines.py DeviseModel)."""
    cfg = ER_CONFIGS.format(method)
    return (
        Ingredient("compatibility", "Linear(2048 -> 300, no bias) on the clip feature, dot product with the "
                   "L2-normalised class vector (txt_norm)", "same: W (D -> k, no bias), dot product with the "
                   "L2-normalised class vector", True, "zeroshot/models/baselines.py (DeviseModel)"),
        Ingredient("dropout", "0.5 on the clip features and on the normalised class vectors, in training",
                   "same (dropout=0.5)", True, f"{cfg} (dropout: 0.5); zeroshot/models/baselines.py (DeviseModel)"),
        er_class_vectors(paper_vectors),
        ER_FEATURES,
        Ingredient("optimiser", "Adam, lr 1e-4, batch 128, 30 epochs", "Adam, lr 1e-3, batch 128, 30 epochs", False,
                   f"{cfg} (optimizer, batch_size, num_epochs)",
                   "ER's 1e-4 ran for tens of thousands of iterations on Kinetics-400 (about 1.9k per epoch); in 30 "
                   "epochs a UCF101 fold gets about 1.6k, an HMDB51 fold about 0.8k. On synthetic UCF101 "
                   "(random-50-50 folds 0-1, glove50) 1e-3 gave the higher unseen top-1 for all three bilinear "
                   "baselines"),
        *er_schedule(cfg),
        Ingredient("weight decay", "none (the bilinear block sets no weight_decay; the optimiser's default is 0)",
                   "0 (weight_decay=0.0)", True, f"{cfg}; framework/trainer.py (build_optimizer)"),
        ER_SELECTION,
    )


# -- closed forms ---------------------------------------------------------------------------------
def class_sums(x: np.ndarray, y: np.ndarray, z: int) -> np.ndarray:
    """[z, D]: row c is the sum of the rows of x labelled c (one matrix product)."""
    onehot = np.zeros((z, len(y)), dtype=x.dtype)
    onehot[np.asarray(y), np.arange(len(y))] = 1.0
    return onehot @ x


def eszsl_solve(x: np.ndarray, y: np.ndarray, s: np.ndarray, alpha: float = 3.0, gamma: float = 0.0,
                dtype=np.float32) -> np.ndarray:
    """ESZSL's closed form in row convention: x [N, D] clips, y [N] labels in 0..z-1, s [z, k] class
    vectors. Returns V [D, k] = (X^T X + 10^alpha I)^-1 X^T Y S (S^T S + 10^gamma I)^-1 with
    Y in {-1, 1}^{N x z}: the paper's (X X^T + lambda I)^-1 X Y S^T (S S^T + gamma I)^-1 in its column
    convention. The D x D Gram matrix and its Cholesky solve run in ``dtype`` (float32: twice as
    fast, and the 10^alpha ridge keeps it well conditioned); the small k x k side in float64."""
    xd = np.asarray(x, dtype=dtype)
    s = np.asarray(s, dtype=np.float64)
    z = s.shape[0]
    sums = class_sums(xd, y, z).astype(np.float64)
    xty = 2.0 * sums.T - xd.sum(0, dtype=np.float64)[:, None]  # X^T Y [D, z], Y = 2 onehot - 1
    gram = xd.T @ xd
    gram[np.diag_indices_from(gram)] += dtype(10.0 ** alpha)
    left = sla.solve(gram, (xty @ s).astype(dtype), assume_a="pos", check_finite=False).astype(np.float64)
    ss = s.T @ s
    ss[np.diag_indices_from(ss)] += 10.0 ** gamma
    return sla.solve(ss, left.T, assume_a="pos", check_finite=False).T  # (left ss^-1)^T = ss^-1 left^T


def solve_sylvester_sym(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """X with A X + X B = C for symmetric A [m, m] (small) and symmetric B [n, n] (SAE: both are
    Gram matrices). The same solution as ``scipy.linalg.solve_sylvester``, which needs two general
    Schur forms (about 3.5 s at n = 2048 on a 2-core CPU); here about 0.25 s:

    with A = U diag(a) U^T, row i of X' = U^T X solves x_i (B + a_i I) = (U^T C)_i, and with
    B = Q T Q^T (T tridiagonal, LAPACK sytrd; Q applied by ormqr) each of those is one tridiagonal
    positive-definite solve (ptsv). If some B + a_i I is not positive definite, every row falls back
    to B's eigendecomposition. Rows where a_i = 0 and the right-hand side is 0 get 0 (the least-norm
    solution when B is singular). B's factorisation runs in B's dtype (float32 or float64)."""
    da, ua = np.linalg.eigh(np.asarray(a, dtype=np.float64))
    rhs = ua.T @ np.asarray(c, dtype=np.float64)  # [m, n]
    scale = max(float(np.abs(da).max(initial=0.0)), 1e-300)
    null = (np.abs(da) <= 1e-10 * scale) & (np.linalg.norm(rhs, axis=1) <= 1e-10 * max(np.linalg.norm(rhs), 1e-300))
    act = np.flatnonzero(~null)
    sol = np.zeros_like(rhs)
    if len(act):
        b = np.asarray(b)
        b = b if b.dtype in (np.float32, np.float64) else b.astype(np.float64)
        try:
            sol[act] = _shifted_tridiagonal_solves(b, da[act], rhs[act])
        except np.linalg.LinAlgError:
            db, ub = sla.eigh(b, driver="evd", check_finite=False)
            db, ub = db.astype(np.float64), ub.astype(np.float64)
            den = da[act, None] + db[None, :]
            tol = 1e-12 * max(1.0, float(np.abs(den).max()))
            part = np.divide(rhs[act] @ ub, den, out=np.zeros_like(den), where=np.abs(den) > tol)
            sol[act] = part @ ub.T
    return ua @ sol


def _shifted_tridiagonal_solves(b: np.ndarray, shifts: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Row i of the result is rhs_i (B + shifts_i I)^-1, B symmetric; LinAlgError if one of those
    matrices is not positive definite."""
    p = "s" if b.dtype == np.float32 else "d"
    sytrd, sytrd_lwork = getattr(lapack, p + "sytrd"), getattr(lapack, p + "sytrd_lwork")
    ormqr, ptsv = getattr(lapack, p + "ormqr"), getattr(lapack, p + "ptsv")
    n = b.shape[0]
    lwork, info = sytrd_lwork(n, lower=1)
    refl, diag, off, tau, info = sytrd(b, lower=1, lwork=int(lwork))
    if info != 0:
        raise np.linalg.LinAlgError(f"sytrd failed ({info})")
    g = np.ascontiguousarray(rhs.T, dtype=b.dtype)  # [n, m]
    # B = Q T Q^T with Q = diag(1, Q~), Q~ the QR-form reflectors stored below the subdiagonal
    work = max(1, g.shape[1]) * 64
    if n > 1:
        g[1:], _, info = ormqr("L", "T", refl[1:, :n - 1], tau, g[1:], lwork=work)
    h = np.empty_like(g)
    for i, shift in enumerate(shifts):
        _, _, x, info = ptsv(diag + b.dtype.type(shift), off, g[:, i:i + 1])
        if info != 0:
            raise np.linalg.LinAlgError("a shifted matrix is not positive definite")
        h[:, i] = x[:, 0]
    if n > 1:
        h[1:], _, info = ormqr("L", "N", refl[1:, :n - 1], tau, h[1:], lwork=work)
    return h.T.astype(np.float64)


def sae_solve(x: np.ndarray, y: np.ndarray, s: np.ndarray, lam: float, solver: str = "symmetric",
              dtype=np.float32) -> np.ndarray:
    """SAE's encoder W [k, D] minimising ||X - W^T S||^2 + lam ||W X - S||^2 (paper's column
    convention: X is D x N, S is k x N with column i the vector of clip i's class). Setting the
    gradient to 0 gives one Sylvester equation S S^T W + W (lam X X^T) = (1 + lam) S X^T.
    x [N, D], y [N], s [z, k] class vectors; the D x D Gram matrix (and, for ``solver=symmetric``,
    its factorisation) in ``dtype``. ``solver=schur``: ``scipy.linalg.solve_sylvester`` (float64)."""
    xd = np.asarray(x, dtype=dtype)
    s = np.asarray(s, dtype=np.float64)
    z = s.shape[0]
    counts = np.bincount(y, minlength=z).astype(np.float64)
    sums = class_sums(xd, y, z).astype(np.float64)
    a = (s.T * counts) @ s  # S S^T = sum_i s_{y_i} s_{y_i}^T
    b = dtype(lam) * (xd.T @ xd)  # lam X X^T
    c = (1.0 + lam) * (s.T @ sums)  # (1 + lam) S X^T
    if solver == "symmetric":
        return solve_sylvester_sym(a, b, c)
    if solver == "schur":
        return sla.solve_sylvester(a, b.astype(np.float64), c)
    raise ValueError(f"unknown SAE solver {solver!r}; choose symmetric or schur")
