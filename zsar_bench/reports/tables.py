"""Leaderboards from records: Markdown (tabulate) and CSV (pandas).

Each table is one (dataset, feature set identity, protocol, split hash): feature sets and
protocols never share a mean. Cells are mean +- sample std (ddof=1) over every (fold, seed) run
of the row; a row missing any fold of the protocol keeps empty cells. Published numbers appear as
marked reference rows, never averaged with anything.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Optional

import pandas as pd
from tabulate import tabulate

from ..record_schema import Record
from ..records import dedupe
from ..stats import TEST_NOTE

DDOF = 1
METRICS = [("top1", "Top-1"), ("top5", "Top-5"), ("mean_class_acc", "Mean class acc"),
           ("gzsl_unseen", "GZSL U"), ("gzsl_seen", "GZSL S"), ("gzsl_h", "GZSL H")]

CHEN_HUANG = "Chen and Huang, Elaborative Rehearsal for Zero-shot Action Recognition, ICCV 2021"
ER_PAPER_INPUTS = "bert-base-uncased, top 2 layers fine-tuned; 'name: description', descriptions ER's"
# Published reference numbers (real features, the authors' own runs). Only numbers we can source.
PUBLISHED = [
    {"method": "ER", "dataset": "kinetics", "protocol": "kinetics-zsar", "top1": (42.1, 1.4), "top5": (73.1, 0.3),
     "source": CHEN_HUANG, "note": "TSM + BiT-21k concepts, BERT; 3 folds", "inputs": ER_PAPER_INPUTS},
    {"method": "ER", "dataset": "hmdb51", "protocol": "random-50-50", "top1": (35.3, 4.6), "source": CHEN_HUANG,
     "note": "50 random 50/50 splits (the authors' own draws)", "inputs": ER_PAPER_INPUTS},
    {"method": "ER", "dataset": "ucf101", "protocol": "random-50-50", "top1": (51.8, 2.9), "source": CHEN_HUANG,
     "note": "50 random 50/50 splits (the authors' own draws)", "inputs": ER_PAPER_INPUTS},
]

# CLIP-era methods on Kinetics-600 zero-shot (ViT-B/16, CLIP pre-training): a reference table of their own on the
# kinetics page, never a row of a table of this harness's feature sets (their backbone and pre-training differ).
CLIP_ERA_BACKBONE = ("ViT-B/16, CLIP pre-training (OpenAI, 400M image-text pairs), then trained on Kinetics-400; "
                     "text: CLIP's text tower")
CLIP_ERA_PROTOCOL = ("Kinetics-600 zero-shot: 3 splits of 160 of the 220 classes new in Kinetics-600 (Chen and "
                     "Huang's splits: the test classes of kinetics-zsar); top-1 mean ± std over the 3 splits")
PUBLISHED_CLIP_ERA = [
    {"method": "ViFi-CLIP", "top1": (71.2, 1.0),
     "source": "Rasheed et al., Fine-tuned CLIP Models are Efficient Video Learners, CVPR 2023"},
    {"method": "FROSTER", "top1": (74.8, 0.9),
     "source": "Huang et al., FROSTER: Frozen CLIP Is A Strong Teacher for Open-Vocabulary Action Recognition, "
               "ICLR 2024"},
    {"method": "TC-CLIP", "top1": (78.1, 1.0),
     "source": "Kim et al., Leveraging Temporal Contextualization for Video Action Recognition, ECCV 2024"},
]
REFERENCE_DATASETS = {"kinetics": PUBLISHED_CLIP_ERA}


REFERENCE_COLUMNS = ["Method", "Backbone and pre-training", "Top-1", "Source"]


# pragma: no mutate start (published rows and the class-input labels: text; the golden report pins it)
def reference_rows(dataset: str) -> list[tuple[dict, list[str]]]:
    """(published entry, its cells under ``REFERENCE_COLUMNS``) for each reference row of ``dataset``."""
    return [(p, [f"{p['method']} (published) §", CLIP_ERA_BACKBONE, _cell(*p["top1"]), p["source"]])
            for p in REFERENCE_DATASETS.get(dataset, ())]


def render_reference_tables(dataset: str) -> list[tuple[str, str]]:
    """[(title, markdown)]: published results of other backbones for ``dataset`` (CLIP-era on kinetics), shown
    as a table of their own, never mixed into a table of a feature set run here."""
    body = [cells for _, cells in reference_rows(dataset)]
    if not body:
        return []
    md = (f"Published reference, not run here: {CLIP_ERA_PROTOCOL}. § Backbone and pre-training differ from every "
          "feature set in the tables above (CLIP-era models saw 400M image-text pairs and Kinetics-400 videos "
          "end to end), so these rows are never ranked with them; to compare on the same folds, run `clip`, "
          "`clip-adapter` and `er-clip` on CLIP features (README, CLIP-era methods).\n\n"
          + tabulate(body, headers=REFERENCE_COLUMNS, tablefmt="github", disable_numparse=True))
    return [(f"{dataset} · published CLIP-era results (ViT-B/16; reference only)", md)]


def inputs_label(params: object, descriptions: object = None) -> str:
    """What a row's method reads for classes, from its recorded parameters: the text tower (encoder,
    frozen or fine-tuned layers) or the word vectors, the class-text style, and the descriptions'
    source when the text uses them. Shown in every leaderboard row, so a published setting never sits
    beside a different model under the same name."""
    p = params if isinstance(params, dict) else {}
    parts = []
    sem = p.get("semantic")
    if isinstance(sem, str):
        if sem.startswith("text:"):
            parts.append(f"text encoder {sem[5:] or 'minilm'} (frozen)")
        else:
            prep = p.get("name_prep")
            vecs = Path(sem).name if ("/" in sem or "\\" in sem) else sem
            parts.append(f"word vectors {vecs}" + (f", names prepared {prep}" if prep and prep != "none" else ""))
    enc = p.get("text_encoder")
    own = "the features' own model"
    if "templates" in p:  # clip, clip-adapter: CLIP's text tower with prompt templates
        w = p.get("weights") or ""
        parts.append(f"CLIP text tower ({Path(w).name if w else own}), templates {p['templates']}")
    elif isinstance(enc, str) and (enc == "clip" or enc.startswith("clip:")):
        parts.append(f"CLIP text tower ({Path(enc[5:]).name if enc[5:] else own}; frozen, cached)")
    elif isinstance(enc, str):
        if p.get("tower") == "partial":
            parts.append(f"{Path(enc).name if '/' in enc else enc}, top {p.get('trainable_layers')} layers fine-tuned")
        else:
            parts.append(f"{Path(enc).name if '/' in enc else enc} (frozen, cached)")
    style = p.get("text_style")
    if isinstance(style, str) and parts:
        uses_desc = "description" in style
        src = descriptions if isinstance(descriptions, str) and descriptions else "builtin"
        parts.append(f"'{style}'" + (f", descriptions {'project' if src == 'builtin' else Path(src).name}"
                                     if uses_desc else ""))
    return "; ".join(parts) or "-"


# pragma: no mutate end
def _current_revision(method: str) -> Optional[int]:
    """The registered implementation's revision of ``method`` (None for a method not registered here)."""
    from ..method import METHODS
    from ..plugins import load_plugins

    try:
        load_plugins()
        return int(METHODS.get(method).revision)
    except Exception:  # noqa: BLE001  (an unknown or broken plugin: keep its rows)
        return None


def drop_superseded(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Records made by an earlier implementation of a method (``revision`` below the registered one) stay in
    the records file but leave the leaderboard; returns (kept, {method: records dropped})."""
    if df.empty:
        return df, {}
    rev = (df["revision"].fillna(Record.DEFAULT_REVISION).astype(int) if "revision" in df
           else pd.Series(Record.DEFAULT_REVISION, index=df.index))
    current = {m: _current_revision(m) for m in df["method"].unique()}
    old = pd.Series([current[m] is not None and r < current[m] for m, r in zip(df["method"], rev)], index=df.index)
    dropped = df[old]["method"].value_counts().to_dict()
    return df[~old], {str(k): int(v) for k, v in dropped.items()}


def records_frame(records: Iterable[dict]) -> tuple[pd.DataFrame, dict[str, int]]:
    """The records as the leaderboard counts them: one row per run key (the last), mode filled in,
    records of superseded method revisions dropped; returns (frame, {method: records dropped})."""
    df = pd.DataFrame(dedupe(records)[0])
    if df.empty:
        return df, {}
    # records written before evaluation modes existed (synthetic-v1) are zero-shot runs
    df["mode"] = df["mode"].fillna(Record.DEFAULT_MODE) if "mode" in df else Record.DEFAULT_MODE
    return drop_superseded(df)


def summarise(records: Iterable[dict], partial: bool = False) -> pd.DataFrame:
    """One row per (dataset, features_id, protocol, split_hash, method, config_hash); each run key counts
    once (the last of its rows, see ``records.dedupe``). A row missing runs of its protocol has empty
    cells (the leaderboard rule), unless ``partial``: then its cells are means over the runs it has and
    the row is flagged ``partial`` (the table printed after a ``--folds 0-2`` run)."""
    df, dropped = records_frame(records)
    if df.empty:
        df.attrs["superseded"] = dropped
        return df
    group = list(Record.GROUP_FIELDS)
    rows = []
    for key, g in df.groupby(group, sort=True):
        n_folds = int(g["n_folds"].max())
        n_seeds = g["seed"].nunique()
        expected = n_folds * n_seeds
        complete = len(g) >= expected and g["fold"].nunique() == n_folds
        row = dict(zip(group, key))
        row.update({"features": g["features"].iloc[0], "synthetic": bool(g["synthetic"].iloc[0]),
                    "train_dataset": g["train_dataset"].dropna().iloc[0] if "train_dataset" in g and
                    g["train_dataset"].notna().any() else key[0],
                    "inputs": inputs_label(g["params"].iloc[-1] if "params" in g else None,
                                           g["descriptions"].iloc[-1] if "descriptions" in g else None),
                    "n_runs": len(g), "n_expected": expected, "partial": bool(partial and not complete),
                    "n_folds_done": int(g["fold"].nunique()), "n_folds": n_folds, "n_seeds": n_seeds, "complete": complete,
                    "train_s_per_fold": float(g["train_s"].mean()), "eval_s_per_fold": float(g["eval_s"].mean())})
        for m, _ in METRICS:
            vals = g[m].dropna() if m in g else pd.Series(dtype=float)
            ok = (complete or partial) and len(vals) == len(g) and len(vals) > 0
            row[f"{m}_mean"] = float(vals.mean() * 100) if ok else math.nan
            row[f"{m}_std"] = float(vals.std(ddof=DDOF) * 100) if ok and len(vals) > 1 else (0.0 if ok else math.nan)
        rows.append(row)
    out = pd.DataFrame(rows)
    out = _with_significance(df, out)
    out.attrs["superseded"] = dropped
    return out


def primary_metric(mode: str) -> str:
    return "gzsl_h" if mode == "gzsl" else "top1"


def _with_significance(df: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Per table: the primary metric's 95% interval for every row, and every row against the table's best
    (paired over folds x seeds, Holm-corrected; ``stats.table_significance``)."""
    from ..stats import mean_ci, table_significance

    keys = ["dataset", "features_id", "protocol", "split_hash", "mode"]
    parts = []
    for key, rows in summary.groupby(keys, sort=False):
        metric = primary_metric(key[-1])
        recs = df
        for k, v in zip(keys, key):
            recs = recs[recs[k] == v]
        rows = table_significance(recs, rows, metric)
        lo, hi = [], []
        for _, r in rows.iterrows():
            g = recs[(recs["method"] == r["method"]) & (recs["config_hash"] == r["config_hash"])]
            ok = not math.isnan(r[f"{metric}_mean"])
            _, a, b = mean_ci(g[metric].dropna() * 100) if ok and metric in g else (0, math.nan, math.nan)
            lo.append(a)
            hi.append(b)
        parts.append(rows.assign(ci_low=lo, ci_high=hi))
    return pd.concat(parts) if parts else summary


def _runs(r) -> str:
    """Runs done / expected; a partial row (``summarise(partial=True)``) says how many folds its means cover."""
    if r.get("partial") is True:
        return f"{r['n_runs']}/{r['n_expected']} ({r['n_folds_done']} of {r['n_folds']} folds)"
    return f"{r['n_runs']}/{r['n_expected']}"


def _mark(r) -> str:
    """★ the best row of a table, ≈ a row not significantly worse than it (see ``stats``)."""
    if r.get("is_best") is True:
        return "★ "
    return "≈ " if r.get("tied_with_best") is True else ""


def _ci(r) -> str:
    lo, hi = r.get("ci_low", math.nan), r.get("ci_high", math.nan)
    return "" if lo is None or hi is None or math.isnan(lo) or math.isnan(hi) else f"[{lo:.1f}, {hi:.1f}]"


def _p(r) -> str:
    p = r.get("p_vs_best", math.nan)
    if p is None or math.isnan(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _cell(mean: float, std: float) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return ""
    return f"{mean:.1f} ± {std:.1f}"


ZSL_METRICS = [("top1", "Top-1"), ("top5", "Top-5"), ("mean_class_acc", "Mean class acc")]
GZSL_METRICS = [("gzsl_unseen", "U"), ("gzsl_seen", "S"), ("gzsl_h", "H")]
SANITY_NOTE = {
    "probe-text": "probe-text: no training, no video features; cosine between the default encoder's embeddings of "
                  "a clip's top-5 concept texts and the class texts. A value near the trained rows would mean the "
                  "features leak their generator (synthetic) or that concept matching alone solves the task.",
    "chance": "chance: a uniform random score per (clip, class); expected top-1 = 1 / candidate classes.",
}


# pragma: no mutate start (rendering: captions, notes and layout around the numbers computed above; the golden
# report and tests/test_records_reports.py pin it)
def _excluded_note(ds: str, proto: str, sh: str) -> Optional[str]:
    """The training classes a cross-dataset protocol removed, read from its split file."""
    from ..splits import SplitError, load_protocol

    try:
        pr = load_protocol(ds, proto)
    except (SplitError, ValueError):
        return None
    if pr.short_hash != sh or not pr.train_dataset or pr.train_dataset == ds:
        return None
    names = ", ".join(e["class"] for e in pr.excluded) or "none"
    return (f"Trained on {pr.train_dataset} ({len(pr.folds[0].seen)} classes); excluded from training because they "
            f"overlap a {ds} class ({len(pr.excluded)}; exact or near-identical name, or word-vector cosine "
            f"distance < 0.05; details in {Path(pr.path).name}): {names}.")


def render_table(summary: pd.DataFrame, published: bool = True) -> list[tuple[str, str]]:
    """[(title, markdown)] for every table in the summary: one per dataset, feature set, protocol, split
    and evaluation mode (ZSL tables show unseen-class metrics, generalised-ZSL tables U, S and H)."""
    out = []
    if summary.empty:
        return out
    is_fewshot = summary["mode"].astype(str).str.startswith("fewshot-")
    fewshot = render_fewshot_tables(summary[is_fewshot], published)  # their own tables, after the zero-shot ones
    summary = summary[~is_fewshot]
    keys = ["dataset", "features_id", "protocol", "split_hash", "mode"]
    for (ds, fid, proto, sh, mode), g in summary.groupby(keys, sort=True):
        metrics = GZSL_METRICS if mode == "gzsl" else ZSL_METRICS
        g = g.sort_values(f"{metrics[-1][0] if mode == 'gzsl' else 'top1'}_mean", ascending=False,
                          na_position="last")
        first = dict(metrics)[primary_metric(mode)]
        cols = (["Method", "Config", "Class inputs", "Runs"] + [label for _, label in metrics]
                + [f"{first} 95% CI", "p vs best", "Train s/fold"])
        body = []
        for _, r in g.iterrows():
            body.append([_mark(r) + r["method"] + (" (sanity)" if r["method"] in SANITY_NOTE else ""), r["config_hash"],
                         r.get("inputs", "-"), _runs(r)]
                        + [_cell(r[f"{m}_mean"], r[f"{m}_std"]) for m, _ in metrics]
                        + [_ci(r), _p(r), f"{r['train_s_per_fold']:.2f}"])
        notes = [SANITY_NOTE[m] for m in SANITY_NOTE if m in set(g["method"])]
        if published and mode == "zsl":
            for p in PUBLISHED:
                if p["dataset"] == ds and p["protocol"] == proto:
                    body.append([f"{p['method']} (published) †", "", p.get("inputs", ""), ""]
                                + [_cell(*p[m]) if m in p else "" for m, _ in metrics] + ["", "", ""])
                    notes.append(f"† Published reference, not run here: {p['source']}; {p['note']}. "
                                 "Real features: not comparable with synthetic rows, never averaged with them.")
        excluded = _excluded_note(ds, proto, sh)
        if excluded:
            notes.append(excluded)
        synthetic = bool(g["synthetic"].iloc[0])
        n_seeds = sorted(set(g["n_seeds"]))
        title = (f"{ds} · {proto}{' · generalised ZSL' if mode == 'gzsl' else ''} (split {sh}) · features {fid}"
                 f"{' (SYNTHETIC)' if synthetic else ''}")
        header = (f"Mean ± sample std (ddof={DDOF}) in %, over all folds × seeds of the protocol "
                  f"(seeds per row: {', '.join(map(str, n_seeds))}). Runs = done/expected; "
                  + ("a row marked 'k of n folds' is a mean over the folds that ran, not comparable with complete "
                     "rows. " if g.get("partial", pd.Series(False, index=g.index)).any() else
                     "a row with missing runs has empty cells. ")
                  + f"★ = best {first}; ≈ = not significantly worse than ★, unmarked = significantly "
                  f"worse ({TEST_NOTE}); p vs best = that Holm-adjusted p-value; 95% CI = t interval of the mean "
                  f"{first}. Pairwise: `python run_bench.py compare A B --dataset {ds}`. ")
        if mode == "gzsl":
            header += ("Generalised ZSL (Xian et al.): 20% of each seen class's clips held out and the model fit on the "
                       "rest; candidates = seen + unseen; U/S = mean class accuracy on unseen / held-out seen clips, "
                       "H = their harmonic mean.")
        else:
            header += ("Zero-shot: trained on every clip of the seen classes; Top-1/Top-5/Mean class acc over the "
                       "unseen classes' clips among the unseen classes.")
            if fid == "synthetic-v1":
                header += (" (Historical synthetic-v1 records: made before generator v2 and the paper training sets; "
                           "they trained on 80% of the seen classes' clips and are kept for comparison only.)")
        if synthetic:
            header += (" Features: the embedded synthetic set (see README), for checking the harness and comparing "
                       "methods under controlled conditions, not for claims about real videos.")
        md = header + "\n\n" + tabulate(body, headers=cols, tablefmt="github", disable_numparse=True)
        if notes:
            md += "\n\n" + "\n\n".join(dict.fromkeys(notes))
        out.append((title, md))
    return out + fewshot


# ER's supervised few-shot baselines on the Kinetics-ZSAR test classes (real features): K -> (top-1, top-5), mean +- std
PUBLISHED_FEWSHOT = {1: ((31.8, 0.8), (60.2, 2.5)), 2: ((45.0, 0.9), (73.2, 0.6)), 5: ((56.5, 1.5), (83.4, 0.8)),
                     100: ((72.7, 1.4), (93.3, 0.5))}


def render_fewshot_tables(summary: pd.DataFrame, published: bool = True) -> list[tuple[str, str]]:
    """[(title, markdown)]: one few-shot table per (dataset, feature set, protocol, split), one row per (method,
    config, K) of the ``fewshot-K`` rows of ``summary``; on kinetics-zsar, ER's Table 5 as marked reference rows."""
    out = []
    if summary.empty:
        return out
    cols = ["Method", "Config", "K (clips/class)", "Runs"] + [label for _, label in ZSL_METRICS] + ["Train s/fold"]
    for (ds, fid, proto, sh), g in summary.groupby(["dataset", "features_id", "protocol", "split_hash"], sort=True):
        g = g.assign(k=g["mode"].str.split("-").str[1].astype(int)).sort_values(["method", "config_hash", "k"])
        body = [[r["method"] + (" (sanity)" if r["method"] in SANITY_NOTE else ""), r["config_hash"], str(r["k"]),
                 _runs(r)] + [_cell(r[f"{m}_mean"], r[f"{m}_std"]) for m, _ in ZSL_METRICS]
                + [f"{r['train_s_per_fold']:.2f}"] for _, r in g.iterrows()]
        notes = [SANITY_NOTE[m] for m in SANITY_NOTE if m in set(g["method"])]
        if published and ds == "kinetics" and proto == "kinetics-zsar":
            body += [["supervised (published) ‡", "", str(k), "", _cell(*t1), _cell(*t5), "", ""]
                     for k, (t1, t5) in PUBLISHED_FEWSHOT.items()]
            notes.append("‡ Published reference, not run here: ER, ICCV 2021, Table 5 (supervised few-shot baselines "
                         "on the 160 test classes of each fold, the same visual features as ER). Real features: not "
                         "comparable with synthetic rows, never averaged with them.")
        synthetic = bool(g["synthetic"].iloc[0])
        title = (f"{ds} · {proto} · Few-shot (supervised on K clips of each test class) (split {sh}) · "
                 f"features {fid}{' (SYNTHETIC)' if synthetic else ''}")
        header = (f"Mean ± sample std (ddof={DDOF}) in %, over all folds × seeds of the protocol (each seed is its "
                  "own draw of the K clips). Runs = done/expected; a row with missing runs has empty cells. "
                  "Few-shot: the model is fit on K clips of each test (unseen) class of a fold and nothing else, "
                  "and the rest of those classes' clips are classified among the test classes; a K that would leave "
                  "a class fewer than MIN_EVAL = 5 clips to evaluate (zsar_bench/folds.py) is skipped for that fold.")
        if synthetic:
            header += " Features: the embedded synthetic set (see README), not for claims about real videos."
        md = header + "\n\n" + tabulate(body, headers=cols, tablefmt="github", disable_numparse=True)
        if notes:
            md += "\n\n" + "\n\n".join(dict.fromkeys(notes))
        out.append((title, md))
    return out
# pragma: no mutate end
