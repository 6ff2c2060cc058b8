"""Partially fine-tuned transformer text encoder with a cache of the frozen layers' outputs.

ER fine-tunes only the top layers of BERT (embeddings and layers 0-9 frozen, 10-11 trained). The
frozen prefix gives the same output for a text at every step, so this module computes it once per
text (``precompute``) and runs only the trainable layers each step. ``forward_full`` runs the whole
encoder from tokens; the two agree to float precision (tests pin this) and the cached path is far
faster (``benchmarks/`` measures the ratio).

The frozen prefix's outputs are also kept for the process (``_PrefixCache``), so a second fit on the same texts
(every seed, the determinism checks, a process's next fold on the same feature set) does not run the frozen
layers again. An entry is one batch of ``precompute`` and its key is everything that batch's output depends on:
the exact token tensors (ids, token types, attention mask: the texts, the tokenizer, ``max_length`` and the
batch's padding), a fingerprint of the frozen weights' values, the number of frozen layers, the attention
implementation, the device, dtype and thread count. A hit therefore returns the very tensors the same
computation gave before: the numbers are those of recomputing (tests pin this bit for bit).
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path
from typing import Optional, Sequence

import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as hf_logging

from .encoders import TextEncoderError, parse_encoder_spec


class _PrefixCache:
    """Frozen-prefix outputs of whole ``precompute`` batches, for the process, least recently used first out.

    Values are the per-text state tensors an encoder's own cache holds (shared, never copied or written to), so
    while a fit runs they cost no extra memory; ``max_bytes`` bounds what is kept after it."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[tuple, tuple[list[torch.Tensor], int]] = OrderedDict()

    def get(self, key: tuple) -> Optional[list[torch.Tensor]]:
        hit = self._entries.get(key)
        if hit is None:
            return None
        self._entries.move_to_end(key)
        return hit[0]

    def put(self, key: tuple, states: list[torch.Tensor]) -> None:
        size = sum(t.numel() * t.element_size() for t in states)
        if size > self.max_bytes or key in self._entries:
            return
        self._entries[key] = (states, size)
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, (_, old) = self._entries.popitem(last=False)
            self.bytes -= old

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


PREFIX_CACHE = _PrefixCache(max_bytes=512 << 20)


class PartialFineTuneEncoder(nn.Module):
    def __init__(self, spec: str = "bert-base-uncased", trainable_layers: int = 2, max_length: int = 100,
                 cache_frozen: bool = True, share_prefix: bool = True):
        super().__init__()

        hf_logging.disable_progress_bar()
        _, target = parse_encoder_spec(spec)
        local = Path(target).expanduser()
        src = str(local) if local.is_dir() else target
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(src)
            self.model = AutoModel.from_pretrained(src)
        except (OSError, ValueError) as e:
            raise TextEncoderError(
                f"could not load {target!r} for partial fine-tuning: {e}\n"
                "This machine may be offline: download the model once where you have network "
                "(huggingface-cli download bert-base-uncased) and pass its local folder, e.g. "
                "--method-args er-paper.text_encoder=/path/to/bert-base-uncased"
            ) from e
        layers = self.model.encoder.layer
        if not 0 < trainable_layers <= len(layers):
            raise ValueError(f"trainable_layers must be in 1..{len(layers)}")
        self.n_frozen = len(layers) - trainable_layers
        for p in self.model.parameters():
            p.requires_grad_(False)
        for layer in layers[self.n_frozen:]:
            for p in layer.parameters():
                p.requires_grad_(True)
        self.max_length = max_length
        self.cache_frozen = cache_frozen
        self.share_prefix = share_prefix  # look batches up in (and add them to) the process's PREFIX_CACHE
        self._fingerprint: Optional[str] = None
        self.hidden_size = int(self.model.config.hidden_size)
        self.texts: list[str] = []
        self._index: dict[str, int] = {}
        self._states: dict[int, torch.Tensor] = {}  # text id -> [L_i, H] frozen-prefix output

    def train(self, mode: bool = True):
        """Frozen parts stay in eval mode (no dropout), so their output is a constant per text."""
        super().train(mode)
        self.model.embeddings.eval()
        for layer in self.model.encoder.layer[: self.n_frozen]:
            layer.eval()
        return self

    # -- texts -------------------------------------------------------------------------------------
    def register(self, texts: Sequence[str]) -> torch.Tensor:
        ids = []
        for t in texts:
            if t not in self._index:
                self._index[t] = len(self.texts)
                self.texts.append(t)
            ids.append(self._index[t])
        return torch.tensor(ids, dtype=torch.long)

    def _tokens(self, texts: Sequence[str], device) -> dict:
        return self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                              return_tensors="pt").to(device)

    def _mask4d(self, mask: torch.Tensor, hidden: torch.Tensor):
        try:
            return self.model._create_attention_masks(attention_mask=mask, encoder_attention_mask=None,
                                                      embedding_output=hidden, encoder_hidden_states=None,
                                                      cache=None)[0]
        except (AttributeError, TypeError):  # older transformers
            return self.model.get_extended_attention_mask(mask, mask.shape)

    def _run_layers(self, hidden, mask, start: int, stop: int):
        m4 = self._mask4d(mask, hidden)
        for layer in self.model.encoder.layer[start:stop]:
            out = layer(hidden, m4)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    @staticmethod
    def _mean_pool(hidden, mask):
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)

    def _frozen_modules(self) -> list[nn.Module]:
        return [self.model.embeddings, *self.model.encoder.layer[: self.n_frozen]]

    def frozen_fingerprint(self) -> str:
        """sha256 over the frozen modules' parameter and buffer values (names, dtypes, shapes, bytes): two
        encoders with this fingerprint compute the same frozen prefix. Computed once: the frozen part never
        trains (its parameters need no gradient and ER's optimiser never holds them)."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            for k, module in enumerate(self._frozen_modules()):
                for name, t in [*module.named_parameters(), *module.named_buffers()]:
                    t = t.detach().cpu().contiguous()
                    h.update(f"{k}.{name}:{t.dtype}:{tuple(t.shape)};".encode())
                    h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def _prefix_key(self, tok: dict, device) -> Optional[tuple]:
        """The process cache's key of one precompute batch; None when the output is not a pure function of it
        (a frozen module left in training mode would apply dropout)."""
        if not self.share_prefix or any(m.training for m in self._frozen_modules()):
            return None
        inputs = hashlib.sha256()
        for name, t in sorted(tok.items()):
            if isinstance(t, torch.Tensor):
                inputs.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
                inputs.update(t.detach().cpu().contiguous().numpy().tobytes())
        return (self.frozen_fingerprint(), self.n_frozen, str(device), str(self.model.dtype),
                getattr(self.model.config, "_attn_implementation", None), torch.get_num_threads(),
                torch.get_float32_matmul_precision(), inputs.hexdigest())

    @torch.no_grad()
    def precompute(self, ids: Optional[torch.Tensor] = None, batch_size: int = 64) -> None:
        """Run embeddings + frozen layers once for texts not cached yet (a batch computed before in this process,
        with the same tokens and frozen weights, comes from ``PREFIX_CACHE``)."""
        device = next(self.model.parameters()).device
        todo = [i for i in (ids.tolist() if ids is not None else range(len(self.texts))) if i not in self._states]
        todo = list(dict.fromkeys(todo))
        for b in range(0, len(todo), batch_size):
            chunk = todo[b:b + batch_size]
            tok = self._tokens([self.texts[i] for i in chunk], device)
            key = self._prefix_key(tok, device)
            states = PREFIX_CACHE.get(key) if key is not None else None
            if states is None:
                h = self.model.embeddings(input_ids=tok["input_ids"], token_type_ids=tok.get("token_type_ids"))
                h = self._run_layers(h, tok["attention_mask"], 0, self.n_frozen)
                lens = tok["attention_mask"].sum(1).tolist()
                states = [h[j, : lens[j]].detach().clone() for j in range(len(chunk))]
                if key is not None:
                    PREFIX_CACHE.put(key, states)
            for j, i in enumerate(chunk):
                self._states[i] = states[j]

    # -- forward -----------------------------------------------------------------------------------
    def token_states(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """([n, L, H] last-layer token states, [n, L] attention mask); only the trainable layers run
        (the frozen prefix comes from the cache). ER pools these itself, after dropout."""
        if not self.cache_frozen:
            return self.token_states_full(ids)
        ids_list = ids.tolist()
        missing = [i for i in ids_list if i not in self._states]
        if missing:
            self.precompute(torch.tensor(missing))
        states = [self._states[i] for i in ids_list]
        L = max(s.shape[0] for s in states)
        device = states[0].device
        hidden = torch.zeros(len(states), L, self.hidden_size, device=device, dtype=states[0].dtype)
        mask = torch.zeros(len(states), L, dtype=torch.long, device=device)
        for j, s in enumerate(states):
            hidden[j, : s.shape[0]] = s
            mask[j, : s.shape[0]] = 1
        return self._run_layers(hidden, mask, self.n_frozen, len(self.model.encoder.layer)), mask

    def token_states_full(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The whole encoder from tokens (reference path, and cache_frozen=False)."""
        device = next(self.model.parameters()).device
        tok = self._tokens([self.texts[i] for i in ids.tolist()], device)
        return self.model(**tok).last_hidden_state, tok["attention_mask"]

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """[n, H] mean-pooled embeddings (cached frozen prefix)."""
        return self._mean_pool(*self.token_states(ids))

    def forward_full(self, ids: torch.Tensor) -> torch.Tensor:
        """[n, H] mean-pooled embeddings from the whole encoder."""
        return self._mean_pool(*self.token_states_full(ids))

    def clear_cache(self) -> None:
        self._states.clear()
