"""Commands for real features::

    run_bench.py import-features DATASET NAME --from er|generic|hf PATH [...]
    run_bench.py extract-features DATASET NAME --videos DIR [--backbone tsm-bit|clip] ...
    run_bench.py overlap PRETRAIN DATASET [--reports-dir reports]

Errors users cause are ``FeatureStoreError`` (or ``SplitError``): ``cli.main`` prints them without a
traceback; warnings are printed as one plain line each.
"""
from __future__ import annotations

import argparse
import functools
import json
import time
import warnings
import zipfile

from ..datasets import dataset_names
from ..features import FeatureStoreError
from ..features.base import feature_root
from ..features.extract import extract_features
from ..features.extract_clip import clip_for_import, extract_clip_features
from ..features.importers import import_er, import_generic, import_hf
from ..overlap import overlap_document, write_report
from ..runtime import resolve_device
from ..text.wordvectors import check_vectors_spec, trust_pickle
from .common import check_device, data_root_option, log


def _plain_warnings(handler):
    """User-facing warnings (a class with few clips, a skipped video) as one plain line each, no source location."""
    @functools.wraps(handler)
    def wrapped(a: argparse.Namespace) -> int:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = lambda message, *_a, **_k: log(f"warning: {message}")
            return handler(a)
    return wrapped


EPILOG_IMPORT = """layouts:
  er       PATH = folder of per-video .npy files, shape (1, D). Classes from --metas (ER's JSONL:
           {"videoname", "nframes", "label"}) or from class sub-folders PATH/<class>/<video>.npy.
           Objects: --objects bit_m-r50x1_top20_preds.json --bit-lemmas imagenet21k_wordnet_lemmas.txt
           --bit-wnids imagenet21k_wordnet_ids.txt
  generic  PATH = .npy/.npz matrix [N, D]; --index CSV/TSV/Parquet/JSONL with N rows (video id, class
           [, partition train/test]); objects from the .npz (concept_ids, concept_scores) or --objects
  hf       PATH = a folder written by datasets' save_to_disk (Dataset or DatasetDict), or a hub id
           when online; columns video_id, label, features [, concept_ids, concept_scores, partition]

Classes may be identifiers or readable names (case, spaces, '_' and CamelCase ignored); integer
labels need --classes FILE (or --classes canonical). Videos the source lists but cannot supply are
reported and written to missing.txt (--strict makes them an error). A failed import leaves the store
as it was."""


def import_features_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_bench.py import-features", epilog=EPILOG_IMPORT,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Import precomputed features into the store as feature set NAME of DATASET.")
    p.add_argument("dataset", help=dataset_names())
    p.add_argument("name", help="feature set name, e.g. tsm-bit (used with run_bench.py --features NAME)")
    p.add_argument("path", help="the source (see layouts below)")
    p.add_argument("--from", dest="layout", required=True, choices=["er", "generic", "hf"], help="source layout")
    g = p.add_argument_group("classes and validation")
    g.add_argument("--classes", help="what integer labels mean: ER's classes_label_defn.json, classInd.txt, one name "
                                     "per line, or 'canonical' (0-based, zsar_bench/data/classes/DATASET.tsv)")
    g.add_argument("--dim", type=int, help="expected feature dimension (checked)")
    g.add_argument("--strict", action="store_true", help="fail if any listed video lacks features or objects")
    g.add_argument("--allow-empty-classes", action="store_true", help="accept classes with no videos")
    g.add_argument("--overwrite", action="store_true", help="replace an existing feature set of that name")
    g.add_argument("--backbone", help="describe the backbone in the manifest (e.g. 'TSM ResNet-50, Kinetics-400')")
    g.add_argument("--clip-weights", metavar="ID_OR_PATH",
                   help="the features are CLIP video embeddings of this checkpoint (folder or hub id, only looked up "
                        "in the local cache): records the model in the manifest, for CLIP methods, and checks the "
                        "dimension against its projection_dim")
    g = p.add_argument_group("er layout")
    g.add_argument("--metas", action="append", default=[], help="metas JSONL (repeatable); partition train")
    g.add_argument("--test-metas", action="append", default=[],
                   help="metas JSONL of held-out clips (repeatable); adds a partition column (test)")
    g = p.add_argument_group("objects (er, generic, hf)")
    g.add_argument("--objects", help="top-k predictions: ER/BiT JSON {video: [[ids], [scores]]}, or a row-aligned .npz")
    g.add_argument("--bit-lemmas", help="BiT's imagenet21k_wordnet_lemmas.txt (concept names)")
    g.add_argument("--bit-wnids", help="BiT's imagenet21k_wordnet_ids.txt (WordNet definitions, when nltk has WordNet)")
    g.add_argument("--concepts", help="another vocabulary: TSV name<TAB>definition, names per line, or JSON")
    g = p.add_argument_group("generic and hf layouts")
    g.add_argument("--index", help="generic: CSV/TSV/Parquet/JSONL index, one row per matrix row")
    g.add_argument("--id-column")
    g.add_argument("--label-column")
    g.add_argument("--partition-column")
    g.add_argument("--feature-column", help="hf: the features column (default: features)")
    g.add_argument("--concept-ids-column", help="hf")
    g.add_argument("--concept-scores-column", help="hf")
    g.add_argument("--split", help="hf: which split of a DatasetDict (default: train+test as partitions)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    data_root_option(p)
    return p


BACKBONES = ("tsm-bit", "clip")
BATCH = {"tsm-bit": 4, "clip": 16}
# extract-features options that only the TSM + BiT networks take
TSM_ONLY = ("weights_tsm", "weights_bit", "bit_lemmas", "bit_wnids", "random_init", "trust_weights", "scale_size",
            "crop_size")


def extract_features_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_bench.py extract-features",
        description="Extract features from videos. --backbone tsm-bit (default): ER's TSM ResNet-50 (8 segments, "
                    "2048-d) and BiT-M R50x1 ImageNet-21k top-20 concepts (8 frames). --backbone clip: CLIP video "
                    "embeddings (8 frames sampled as ER's BiT frames, CLIP's preprocessing, image embeddings "
                    "averaged; projection_dim-d, no object concepts). Resumable: rerun the same command after an "
                    "interruption.")
    p.add_argument("dataset")
    p.add_argument("name")
    p.add_argument("--backbone", choices=BACKBONES, default="tsm-bit", help="which networks (default %(default)s)")
    p.add_argument("--weights", metavar="ID_OR_PATH",
                   help="clip: the CLIP checkpoint, a folder saved with save_pretrained or a hub id in the local "
                        "Hugging Face cache (required with --backbone clip)")
    p.add_argument("--videos", required=True, help="DIR/<class>/<video>.mp4|avi|..., or any layout with --metas")
    p.add_argument("--metas", action="append", default=[], help="ER's JSONL (videoname relative to DIR, label)")
    p.add_argument("--classes", help="what integer labels in --metas mean (see import-features --help)")
    p.add_argument("--weights-tsm", help="official TSM checkpoint (TSM_kinetics_RGB_resnet50_shift8_blockres_avg_"
                                         "segment8_e100_dense.pth) or another with the same keys")
    p.add_argument("--weights-bit", help="BiT-M-R50x1.npz, or timm's resnetv2_50x1_bitm_in21k state dict")
    p.add_argument("--bit-lemmas", help="BiT's imagenet21k_wordnet_lemmas.txt (needed for object concepts)")
    p.add_argument("--bit-wnids", help="BiT's imagenet21k_wordnet_ids.txt (definitions via WordNet)")
    p.add_argument("--no-objects", action="store_true", help="TSM features only, no BiT concepts")
    p.add_argument("--random-init", action="store_true",
                   help="randomly initialise networks without --weights-* (tests only: features are meaningless)")
    p.add_argument("--trust-weights", action="store_true",
                   help="allow checkpoints that pickle Python objects (only for files you trust)")
    p.add_argument("--batch-size", type=int,
                   help=f"videos per forward pass (default {BATCH['tsm-bit']} for tsm-bit, {BATCH['clip']} for clip)")
    p.add_argument("--workers", type=int, default=2, help="decoding threads (default %(default)s)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda[:N]")
    p.add_argument("--scale-size", type=int, help=argparse.SUPPRESS)  # tsm-bit: 256
    p.add_argument("--crop-size", type=int, help=argparse.SUPPRESS)  # tsm-bit: 224
    p.add_argument("--allow-missing", action="store_true", help="store the set without videos that fail to decode")
    p.add_argument("--allow-empty-classes", action="store_true", help="accept classes with no videos")
    p.add_argument("--overwrite", action="store_true", help="replace an existing feature set of that name")
    p.add_argument("--restart", action="store_true", help="discard an unfinished extraction and start over")
    p.add_argument("--no-progress", action="store_true")
    data_root_option(p)
    return p


def overlap_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_bench.py overlap",
        description="List target classes that overlap a pre-training class set (exact or near-identical names, "
                    "word-vector cosine distance < 0.05 as in Brattoli et al.) and write "
                    "REPORTS_DIR/overlap_<pretrain>_<dataset>.md.")
    p.add_argument("pretrain", help="pre-training classes: k400 (built in), or any name (e.g. clip) with --names")
    p.add_argument("--names", metavar="FILE",
                   help="the pre-training class names, one per line (or id<TAB>name), e.g. CLIP's vocabulary or your "
                        "own Kinetics-400 list; required for any source but k400; nothing is downloaded")
    p.add_argument("dataset")
    p.add_argument("--reports-dir", default="reports", help="where the report goes (default %(default)s)")
    p.add_argument("--vectors", default="glove50", help="word vectors (default: packaged GloVe 6B 50-d)")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow a gensim .kv file (a Python pickle: it can run code) for --vectors; only for files you trust")
    p.add_argument("--threshold", type=float, default=0.05, help="cosine distance threshold (default %(default)s)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    data_root_option(p)
    return p


def _summary(man: dict, seconds: float) -> str:
    root = feature_root(man["dataset"], man["features"])
    size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) / 2**20 if root.is_dir() else 0
    objs = f", top-{man['top_k']} of {man['n_concepts']} concepts" if man.get("top_k") else ""
    part = f", {man['n_test_partition']} held-out (test partition)" if man.get("has_partition") else ""
    miss = f"; {man['n_missing']} missing (listed in missing.txt)" if man.get("n_missing") else ""
    model = man.get("model") if isinstance(man.get("model"), dict) else None
    clip = f"; CLIP model {model['key']}" if model else ""
    method = "clip" if model else "label"
    return (f"{man['dataset']}/{man['features']}: {man['n_videos']} videos x {man['dim']} (float16){objs}{part}; "
            f"{man['n_classes_present']}/{man['n_classes']} classes{miss}\n"
            f"identity {man['identity']}{clip}; {size:.1f} MB at {root}; {seconds:.1f}s\n"
            f"run it: python run_bench.py --methods {method} --datasets {man['dataset']} --features {man['features']}")


LAYOUT_ONLY = {"metas": "er", "test_metas": "er", "index": "generic", "split": "hf", "feature_column": "hf",
               "concept_ids_column": "hf", "concept_scores_column": "hf", "objects": ("er", "generic"),
               "id_column": ("generic", "hf"), "label_column": ("generic", "hf"), "partition_column": ("generic", "hf")}


@_plain_warnings
def cmd_import_features(a: argparse.Namespace) -> int:
    for opt, layouts in LAYOUT_ONLY.items():
        layouts = (layouts,) if isinstance(layouts, str) else layouts
        if getattr(a, opt) and a.layout not in layouts:
            raise FeatureStoreError(f"--{opt.replace('_', '-')} applies to --from {' or '.join(layouts)}, not "
                                    f"--from {a.layout}")

    common = dict(classes=a.classes, backbone=a.backbone, strict=a.strict, allow_empty_classes=a.allow_empty_classes,
                  overwrite=a.overwrite, dim=a.dim, progress=not a.no_progress, log=log,
                  concepts_file=a.concepts, bit_lemmas=a.bit_lemmas, bit_wnids=a.bit_wnids)
    if a.clip_weights:
        model, model_dim, backbone = clip_for_import(a.clip_weights, log)
        common.update(model=model, model_dim=model_dim, backbone=a.backbone or backbone)
    t0 = time.perf_counter()
    try:
        if a.layout == "er":
            man = import_er(a.dataset, a.name, a.path, metas=a.metas, test_metas=a.test_metas, objects=a.objects,
                            **common)
        elif a.layout == "generic":
            man = import_generic(a.dataset, a.name, a.path, index=a.index, id_column=a.id_column,
                                 label_column=a.label_column, partition_column=a.partition_column, objects=a.objects,
                                 **common)
        else:
            man = import_hf(a.dataset, a.name, a.path, split=a.split, feature_column=a.feature_column,
                            id_column=a.id_column, label_column=a.label_column, partition_column=a.partition_column,
                            concept_ids_column=a.concept_ids_column, concept_scores_column=a.concept_scores_column,
                            **common)
    except (ValueError, EOFError, zipfile.BadZipFile) as e:  # numpy's refusals of a source array file
        msg = str(e)
        if isinstance(e, FeatureStoreError) or not (
                isinstance(e, (EOFError, zipfile.BadZipFile)) or "allow_pickle" in msg or "Python objects" in msg):
            raise
        why = ("it holds Python objects (object dtype), which are never unpickled" if "allow_pickle" in msg
               or "Python objects" in msg else f"a truncated or damaged file: {type(e).__name__}: {msg}")
        raise FeatureStoreError(f"import-features {a.path}: a source array cannot be read ({why}); save the features "
                                "as a numeric array, e.g. np.save(path, np.asarray(x, dtype=np.float32))") from None
    print(_summary(man, time.perf_counter() - t0))
    return 0


@_plain_warnings
def cmd_extract_features(a: argparse.Namespace) -> int:
    if a.backbone == "clip":  # a missing --weights is the CLIP backend's own error (extract_clip.ClipBackend)
        given = [o for o in TSM_ONLY if getattr(a, o) not in (None, False)]
        if given:
            opts = ", ".join("--" + o.replace("_", "-") for o in given)
            raise FeatureStoreError(f"{opts} appl{'ies' if len(given) == 1 else 'y'} to --backbone tsm-bit only; "
                                    "with --backbone clip the checkpoint is --weights, and its preprocessing (sizes, "
                                    "mean/std) comes from the checkpoint's preprocessor_config.json")
    elif a.weights:
        raise FeatureStoreError("--weights is the CLIP checkpoint of --backbone clip; the TSM and BiT networks take "
                                "--weights-tsm and --weights-bit")
    check_device(a.device)
    try:
        device = resolve_device(a.device)
    except RuntimeError as e:
        raise FeatureStoreError(str(e)) from None
    t0 = time.perf_counter()
    batch = a.batch_size if a.batch_size is not None else BATCH[a.backbone]
    shared = dict(metas=a.metas, classes=a.classes, batch_size=batch, workers=a.workers, device=device,
                  threads=a.threads, allow_missing=a.allow_missing, allow_empty_classes=a.allow_empty_classes,
                  overwrite=a.overwrite, restart=a.restart, progress=not a.no_progress, log=log)
    if a.backbone == "clip":
        man = extract_clip_features(a.dataset, a.name, a.videos, weights=a.weights, **shared)
    else:
        man = extract_features(
            a.dataset, a.name, a.videos, weights_tsm=a.weights_tsm, weights_bit=a.weights_bit,
            random_init=a.random_init, objects=not a.no_objects, bit_lemmas=a.bit_lemmas, bit_wnids=a.bit_wnids,
            scale_size=256 if a.scale_size is None else a.scale_size,
            crop_size=224 if a.crop_size is None else a.crop_size, trust_weights=a.trust_weights, **shared)
    print(_summary(man, time.perf_counter() - t0))
    return 0


@_plain_warnings
def cmd_overlap(a: argparse.Namespace) -> int:
    if a.trust_pickle:
        trust_pickle(a.vectors)
    check_vectors_spec(a.vectors, trust_pickle=a.trust_pickle)  # before any work: a clear refusal of a pickle
    doc = overlap_document(a.pretrain, a.dataset, a.vectors, a.threshold, names=a.names)
    out = write_report(doc, a.reports_dir)
    if a.format == "json":
        print(json.dumps(doc, indent=1))
    else:
        print(f"{doc['n_overlap']} of {doc['n_classes']} {a.dataset} classes overlap {a.pretrain}:")
        for e in doc["overlap"]:
            m = e["matches"][0]
            print(f"  {e['identifier']:<24} ~ {m['pretrain_name']} ({m['criterion']})")
        if doc.get("related_not_excluded"):
            print(f"{len(doc['related_not_excluded'])} more share words with {a.pretrain} classes "
                  f"(listed for review in the report, not excluded)")
        print(f"report: {out}")
    return 0
