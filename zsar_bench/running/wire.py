"""What a worker process sends back to the driver, as bytes the driver can read without running any code.

A worker runs method code, which can do anything in that process, including writing its own bytes to the pipe.
Unpickling them in the driver (what ``concurrent.futures`` does with a result) would run whatever the bytes say,
in the process that computes and records every method's metrics. So a worker's reply is encoded here: one
``.npz`` archive (``np.load(..., allow_pickle=False)``, which refuses object arrays) holding a JSON header and
the numeric arrays. ``decode_*`` check every field's type; anything else is an error, never code run.

Two replies: a job's outputs (``encode_outputs``: per run, its scores and what fit reported, or its failure as
text) and plain JSON data (``encode_json``: a method's facts, its text encodings, the plugin index).
"""
from __future__ import annotations

import io
import json
import math
from typing import Any, Optional

import numpy as np

from ..errors import ZsarBenchError

MAX_REPLY_BYTES = 8 << 30  # a reply larger than this is refused before it is read (a worker gone wrong)


class WireError(ZsarBenchError, ValueError):
    """A worker's reply is not what the harness sends: malformed, or a field of the wrong type."""


def _pack(header: dict, arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    blob = np.frombuffer(json.dumps(header, allow_nan=False, default=_jsonable).encode(), dtype=np.uint8)
    np.savez(buf, header=blob, **arrays)
    return buf.getvalue()


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (set, frozenset)):
        return sorted(v, key=str)
    return str(v)


def _unpack(data: bytes) -> tuple[dict, Any]:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise WireError(f"a worker's reply is {type(data).__name__}, not bytes")
    try:
        z = np.load(io.BytesIO(bytes(data)), allow_pickle=False)
        header = json.loads(bytes(z["header"]).decode())
    except Exception as e:  # noqa: BLE001 - whatever the bytes are, the reply is refused in one line
        raise WireError(f"a worker's reply could not be read ({type(e).__name__}: {str(e)[:200]})") from None
    if not isinstance(header, dict):
        raise WireError("a worker's reply has no header object")
    return header, z


def encode_json(obj: Any) -> bytes:
    """Plain data (dicts, lists, strings, numbers) as a reply."""
    return _pack({"json": obj}, {})


def decode_json(data: bytes) -> Any:
    header, _ = _unpack(data)
    return header.get("json")


# -- a job's outputs ------------------------------------------------------------------------------------------

_INFO_TYPES = {"best_epoch": (int, type(None)), "epochs": (int, type(None)), "selected_on": (str, type(None))}


def encode_outputs(outs: list) -> bytes:
    """``worker._run_batch``'s list (per run: a dict of scores and timings, or a ``RunFailure``) as a reply."""
    from .worker import RunFailure

    runs, arrays = [], {}
    for i, out in enumerate(outs):
        if isinstance(out, RunFailure):
            runs.append({"failure": {"message": out.message(), "trace": out.trace[-20000:], "where": out.where}})
            continue
        try:
            arrays[f"scores{i}"] = np.asarray(out["scores"], dtype=np.float64)
        except (TypeError, ValueError) as e:
            runs.append({"failure": {"message": f"the method's scores are not a numeric matrix ({e})"[:300],
                                     "trace": "", "where": ""}})
            continue
        info = {k: v for k, v in (out.get("info") or {}).items() if k in _INFO_TYPES}
        runs.append({"ok": {"train_s": out.get("train_s"), "eval_s": out.get("eval_s"), "info": info,
                            "device": out.get("device"), "torch_threads": out.get("torch_threads")}})
    return _pack({"runs": runs}, arrays)


def decode_outputs(data: bytes, n: int) -> list:
    """A job's reply back to ``_run_batch``'s list, every field checked: dicts for runs that ended, ``RunFailure``
    (its message and trace as text) for runs that failed."""
    from .worker import RunFailure

    header, z = _unpack(data)
    runs = header.get("runs")
    if not isinstance(runs, list) or len(runs) != n:
        raise WireError(f"a worker's reply holds {len(runs) if isinstance(runs, list) else 'no'} run(s), not {n}")
    outs: list = []
    for i, r in enumerate(runs):
        if isinstance(r, dict) and isinstance(r.get("failure"), dict):
            f = r["failure"]
            outs.append(RunFailure.from_text(_text(f.get("message"), 300), _text(f.get("trace"), 20000),
                                             _text(f.get("where"), 100)))
        elif isinstance(r, dict) and isinstance(r.get("ok"), dict):
            outs.append(_decode_ok(r["ok"], z, i))
        else:
            raise WireError(f"a worker's reply: run {i} is neither a result nor a failure")
    return outs


def _decode_ok(ok: dict, z: Any, i: int) -> dict:
    key = f"scores{i}"
    if key not in z.files:
        raise WireError(f"a worker's reply: run {i} has no scores")
    scores = z[key]
    if scores.dtype != np.float64:
        raise WireError(f"a worker's reply: run {i}'s scores are {scores.dtype}, not float64")
    info = ok.get("info") if isinstance(ok.get("info"), dict) else {}
    for k, v in list(info.items()):
        if k not in _INFO_TYPES or isinstance(v, bool) or not isinstance(v, _INFO_TYPES[k]):
            del info[k]
    return {"scores": scores, "train_s": _seconds(ok.get("train_s")), "eval_s": _seconds(ok.get("eval_s")),
            "info": info, "device": _text(ok.get("device"), 40) or None,
            "torch_threads": ok.get("torch_threads") if _is_int(ok.get("torch_threads")) else None}


def _seconds(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise WireError(f"a worker's reply: a time of {v!r} seconds")
    return float(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _text(v: Optional[Any], limit: int) -> str:
    return v[:limit] if isinstance(v, str) else ""
