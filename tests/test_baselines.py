"""Known-answer checks of the classic baselines (methods/w2v.py ... methods/dem.py and
zsar_bench/models/semantic.py): closed forms against direct solves, losses against hand-computed values,
and every method on a small synthetic problem it must solve."""
import sys

import numpy as np
import pytest
import scipy.linalg as sla
import torch

from zsar_bench.models.semantic import (_shifted_tridiagonal_solves, class_semantics, eszsl_solve, l2_rows, sae_solve,
                                  solve_sylvester_sym)
from zsar_bench.method import METHODS, FitContext, build_method
from zsar_bench.plugins import load_plugins
from zsar_bench.types import ClassInfo, FitData, LabelledVideos, Videos

BASELINES = ["w2v", "devise", "ale", "sje", "eszsl", "sae", "conse", "dem"]
K, D, N_SEEN, PER_CLASS = 12, 48, 16, 24


@pytest.fixture(scope="module", autouse=True)
def _plugins():
    load_plugins()


# -- a small problem with a known answer ----------------------------------------------------------
@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """Seen classes: random unit vectors in R^12. Unseen classes: the normalised midpoints of disjoint
    pairs of seen classes, so seen and unseen share one linear structure. A clip of class c is
    M s_c + offset + small noise (M a fixed 48 x 12 map). Class vectors reach the methods as word
    vectors of one-word class names, read from a GloVe-format text file given by path."""
    rng = np.random.default_rng(7)
    seen_vec = l2_rows(rng.standard_normal((N_SEEN, K)))
    unseen_vec = l2_rows(seen_vec[0::2] + seen_vec[1::2])
    vecs = np.concatenate([seen_vec, unseen_vec])
    names = [f"toyclass{i}" for i in range(len(vecs))]
    path = tmp_path_factory.mktemp("wv") / "toy_vectors.txt"
    path.write_text("".join(f"{n} {' '.join(f'{v:.7f}' for v in row)}\n" for n, row in zip(names, vecs)))
    classes = [ClassInfo(f"c{i}", n) for i, n in enumerate(names)]
    m = rng.standard_normal((K, D)) * 2.0
    offset = rng.standard_normal(D) * 3.0

    def clips(class_idx, per_class):
        labels = np.repeat(np.arange(len(class_idx)), per_class)
        x = vecs[np.asarray(class_idx)[labels]] @ m + offset + 0.1 * rng.standard_normal((len(labels), D))
        return Videos(x.astype(np.float32)), labels

    seen, unseen = list(range(N_SEEN)), list(range(N_SEEN, len(vecs)))
    xtr, ytr = clips(seen, PER_CLASS)
    xte, yte = clips(unseen, 20)
    fit = FitData(LabelledVideos(xtr, ytr, [classes[i] for i in seen]))
    return {"fit": fit, "test_videos": xte, "test_labels": yte, "unseen": [classes[i] for i in unseen],
            "semantic": str(path), "vectors": vecs, "classes": classes}


# enough steps for 384 training clips; everything else at its default
TOY_PARAMS = {
    "w2v": {"epochs": 60, "batch_size": 64},
    "devise": {"epochs": 60, "batch_size": 64},
    "ale": {"epochs": 60, "batch_size": 64},
    "sje": {"epochs": 60, "batch_size": 64},
    "eszsl": {"alpha": 1.0},  # 10^3 is tuned for thousands of 2048-d clips, not 384 clips in 48-d
    "sae": {},
    "conse": {"epochs": 60, "batch_size": 64},
    "dem": {"epochs": 60, "batch_size": 64, "lr": 1e-3},
}


def test_every_baseline_is_registered_with_a_cited_docstring():
    for name in BASELINES:
        cls = METHODS.get(name)
        doc = (cls.__doc__ or "") + (sys.modules[cls.__module__].__doc__ or "")
        assert name in METHODS.names()
        assert any(str(y) in doc for y in range(2013, 2018)), f"{name}: docstring should cite its paper and year"
        assert cls.param_defaults()["semantic"] == "glove50"


@pytest.mark.parametrize("name", BASELINES)
def test_solves_a_linearly_shared_zero_shot_problem(name, toy):
    m = build_method(name, {"semantic": toy["semantic"], **TOY_PARAMS[name]})
    m.fit(toy["fit"], FitContext(device="cpu", seed=0))
    s = np.asarray(m.score(toy["test_videos"], toy["unseen"]))
    acc = (s.argmax(1) == toy["test_labels"]).mean()
    assert acc >= 0.9, f"{name}: unseen top-1 {acc:.2f} on a problem with a shared linear structure"


def test_the_toy_problem_needs_the_right_class_vectors(toy, tmp_path):
    """Control: with the unseen classes' vectors rotated among themselves the same method fails, so
    the check above measures transfer through the class vectors, not something easier."""
    names = [c.name for c in toy["classes"]]
    vecs = toy["vectors"].copy()
    vecs[N_SEEN:] = np.roll(vecs[N_SEEN:], 1, axis=0)
    path = tmp_path / "wrong_vectors.txt"
    path.write_text("".join(f"{n} {' '.join(f'{v:.7f}' for v in row)}\n" for n, row in zip(names, vecs)))
    m = build_method("eszsl", {"semantic": str(path), **TOY_PARAMS["eszsl"]}).fit(toy["fit"], FitContext(seed=0))
    acc = (np.asarray(m.score(toy["test_videos"], toy["unseen"])).argmax(1) == toy["test_labels"]).mean()
    assert acc < 0.2


# -- class semantics ------------------------------------------------------------------------------
def test_class_semantics_word_vectors_text_encoder_and_unknown_names(toy):
    cls = toy["classes"][:3] + [ClassInfo("x", "qqqzzz")]
    v = class_semantics(cls, toy["semantic"])
    np.testing.assert_allclose(v[:3], toy["vectors"][:3], atol=1e-5)  # mean of one word = that word, unit norm
    assert not v[3].any()  # no known word: zero vector
    t = class_semantics([ClassInfo("a", "ride a bike"), ClassInfo("b", "swim")], "text:minilm")
    assert t.shape == (2, 384) and np.allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)
    g = class_semantics([ClassInfo("a", "ride bike")], "glove50")
    assert g.shape == (1, 50) and np.isclose(np.linalg.norm(g), 1.0, atol=1e-5)


# -- ESZSL ----------------------------------------------------------------------------------------
def test_eszsl_closed_form_equals_a_direct_solve_of_its_objective(rng):
    n, d, z, k, a, g = 40, 7, 5, 4, 0.5, -0.3
    x, y, s = rng.standard_normal((n, d)), rng.integers(0, z, n), rng.standard_normal((z, k))
    lam, gam = 10.0 ** a, 10.0 ** g
    v = eszsl_solve(x, y, s, a, g, dtype=np.float64)
    # paper (column convention): X = x^T (d x n), S = s^T (k x z), Y in {-1,1}^{n x z}
    yy = 2.0 * np.eye(z)[y] - 1.0
    xp, sp = x.T, s.T
    # normal equations (X X^T + lam I) V (S S^T + gam I) = X Y S^T, vectorised with a Kronecker product
    lhs = np.kron(sp @ sp.T + gam * np.eye(k), xp @ xp.T + lam * np.eye(d))
    direct = np.linalg.solve(lhs, (xp @ yy @ sp.T).reshape(-1, order="F")).reshape(d, k, order="F")
    np.testing.assert_allclose(v, direct, rtol=1e-9, atol=1e-11)

    def objective(w):
        # the paper's Omega: the ||V S|| weight pairs with X X^T in the closed form, ||X^T V||'s with S S^T
        return (np.sum((xp.T @ w @ sp - yy) ** 2) + lam * np.sum((w @ sp) ** 2)
                + gam * np.sum((xp.T @ w) ** 2) + gam * lam * np.sum(w ** 2))

    grad = np.zeros_like(v)  # central differences: the closed form is the minimiser
    for i, j in np.ndindex(*v.shape):
        e = np.zeros_like(v)
        e[i, j] = 1e-5
        grad[i, j] = (objective(v + e) - objective(v - e)) / 2e-5
    assert np.abs(grad).max() < 1e-5 * max(1.0, np.abs(objective(v)))
    np.testing.assert_allclose(eszsl_solve(x, y, s, a, g), v, rtol=1e-4, atol=1e-5)  # float32 path agrees


# -- SAE ------------------------------------------------------------------------------------------
def test_sylvester_solver_matches_scipy_and_satisfies_the_equation(rng):
    p, q = rng.standard_normal((6, 9)), rng.standard_normal((30, 11))
    a, b = p @ p.T, q.T @ q + 0.1 * np.eye(11)  # symmetric PSD / PD, as in SAE
    c = rng.standard_normal((6, 11))
    w = solve_sylvester_sym(a, b, c)
    np.testing.assert_allclose(a @ w + w @ b, c, atol=1e-9)
    np.testing.assert_allclose(w, sla.solve_sylvester(a, b, c), atol=1e-9)
    # B indefinite: the tridiagonal solves are not positive definite, the eigendecomposition path answers
    b2 = b - 8.0 * np.eye(11)  # eigenvalues from about -2.2
    with pytest.raises(np.linalg.LinAlgError):
        _shifted_tridiagonal_solves(b2, np.linalg.eigvalsh(a), c)
    np.testing.assert_allclose(solve_sylvester_sym(a, b2, c), sla.solve_sylvester(a, b2, c), atol=1e-8)


def test_sylvester_solver_rank_deficient_a_and_singular_b(rng):
    """SAE with more semantic dimensions than seen classes and fewer clips than feature dimensions:
    A and B are both singular; rows of U^T C in A's null space are 0 and get the least-norm answer 0."""
    s, x = rng.standard_normal((3, 8)), rng.standard_normal((5, 12))
    a, b = s.T @ s, x.T @ x  # ranks 3 and 5
    c = s.T @ rng.standard_normal((3, 12)) @ b  # consistent right-hand side
    w = solve_sylvester_sym(a, b, c)
    assert np.isfinite(w).all()
    np.testing.assert_allclose(a @ w + w @ b, c, atol=1e-8)


def test_sae_solution_satisfies_its_sylvester_equation_and_minimises_the_objective(rng):
    n, d, z, k, lam = 60, 10, 6, 4, 0.7
    x, y, s = rng.standard_normal((n, d)), rng.integers(0, z, n), l2_rows(rng.standard_normal((z, k))).astype(float)
    w = sae_solve(x, y, s, lam, dtype=np.float64)
    xp, sp = x.T, s[y].T  # paper: X is d x n, S is k x n
    a, b, c = sp @ sp.T, lam * xp @ xp.T, (1 + lam) * sp @ xp.T
    np.testing.assert_allclose(a @ w + w @ b, c, atol=1e-8)
    np.testing.assert_allclose(w, sae_solve(x, y, s, lam, solver="schur", dtype=np.float64), atol=1e-8)
    np.testing.assert_allclose(sae_solve(x, y, s, lam), w, rtol=1e-3, atol=1e-4)  # float32 path agrees
    # gradient of ||X - W^T S||^2 + lam ||W X - S||^2 vanishes
    grad = -2 * sp @ (xp - w.T @ sp).T + 2 * lam * (w @ xp - sp) @ xp.T
    assert np.abs(grad).max() < 1e-8 * np.abs(c).max()


# -- ConSE ----------------------------------------------------------------------------------------
def test_conse_embedding_is_the_probability_weighted_mean_of_the_top_t_seen_vectors(toy):
    m = build_method("conse", {"semantic": toy["semantic"], "epochs": 2, "top_t": 3})
    m.fit(toy["fit"], FitContext(seed=0))
    sv = m.seen_vectors_
    probs = np.array([[0.5, 0.2, 0.1, 0.1, 0.1] + [0.0] * (N_SEEN - 5),
                      [0.0] * (N_SEEN - 3) + [0.3, 0.3, 0.4]])
    expect = np.stack([(0.5 * sv[0] + 0.2 * sv[1] + 0.1 * sv[2]) / 0.8,  # ties at 0.1: the first index wins
                       (0.4 * sv[-1] + 0.3 * sv[-3] + 0.3 * sv[-2]) / 1.0])
    np.testing.assert_allclose(m.convex_embedding(probs), expect, atol=1e-6)
    # end to end: embed() uses the classifier's own softmax
    v = toy["test_videos"].subset(np.arange(4))
    p = m.seen_probabilities(v.features)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    top = np.argsort(-p, axis=1)[:, :3]
    hand = np.stack([sum(p[i, j] * sv[j] for j in top[i]) / p[i, top[i]].sum() for i in range(4)])
    np.testing.assert_allclose(m.embed(v), hand, atol=1e-5)
    scores = m.score(v, toy["unseen"])
    np.testing.assert_allclose(scores, l2_rows(hand) @ class_semantics(toy["unseen"], toy["semantic"]).T, atol=1e-5)


# -- the ranking losses of DeViSE, ALE and SJE ----------------------------------------------------
def test_ranking_losses_match_hand_computed_values():
    scores = torch.tensor([[1.0, 0.5, 0.95, -1.0], [0.0, 2.0, 0.0, 0.0]])
    y = torch.tensor([0, 1])
    # margins m + s_j - s_y for j != y; row 0 with m = 1: [., 0.5, 0.95, 0] ; row 1: [-1, ., -1, -1]
    devise = build_method("devise")  # margin 0.1: row 0 violations [., 0, 0.05, 0], row 1 none
    assert torch.isclose(devise.pair_loss(scores, y), torch.tensor(0.05 / 2))
    for name in ("devise", "ale", "sje"):  # ER's released configs: margin 0.1 for all three
        assert build_method(name).margin == 0.1
        assert torch.isclose(build_method(name).pair_loss(scores, y), torch.tensor(0.05 / 2))  # one violator
    sje = build_method("sje", {"margin": "1.0"})  # max violation: row 0 0.95, row 1 0
    assert torch.isclose(sje.pair_loss(scores, y), torch.tensor(0.95 / 2))
    ale = build_method("ale", {"margin": "1.0"})  # row 0: rank 2 violators, weight (1 + 1/2) / 2, sum 1.45
    assert torch.isclose(ale.pair_loss(scores, y), torch.tensor(0.75 * 1.45 / 2))
    one = torch.tensor([[0.0, 0.9, -5.0]])  # a single violator: ALE weight 1, equal to SJE's loss
    assert torch.isclose(ale.pair_loss(one, torch.tensor([0])), sje.pair_loss(one, torch.tensor([0])))


# -- scoring contract beyond the conformance suite ------------------------------------------------
@pytest.mark.parametrize("name", ["eszsl", "sae", "dem"])
def test_empty_video_set_and_new_class_lists(name, toy):
    m = build_method(name, {"semantic": toy["semantic"], **({"epochs": 1} if name == "dem" else {})})
    m.fit(toy["fit"], FitContext(seed=0))
    assert np.asarray(m.score(toy["test_videos"].subset(np.arange(0)), toy["unseen"])).shape == (0, len(toy["unseen"]))
    both = m.score(toy["test_videos"], toy["classes"])  # seen + unseen candidates
    assert both.shape == (len(toy["test_videos"]), len(toy["classes"])) and np.isfinite(both).all()
