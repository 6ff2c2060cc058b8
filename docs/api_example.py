import zlib

import numpy as np

import zsar_bench
from zsar_bench import Method


class NameRidge(Method):
    """A method written in a notebook, not registered: ridge regression from clip features to hashed
    character trigrams of the class names; scores = dot product with each candidate class's trigrams."""

    name = "name-ridge"

    def __init__(self, reg: float = 100.0, dim: int = 256):
        self.reg = reg
        self.dim = dim

    def _embed(self, classes):
        out = np.zeros((len(classes), self.dim))
        for i, c in enumerate(classes):
            text = f"  {c.name.lower()} "
            for j in range(len(text) - 2):
                out[i, zlib.crc32(text[j:j + 3].encode()) % self.dim] += 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def fit(self, data, ctx):
        x = data.train.videos.features.astype(np.float64)
        self.mu_, self.sd_ = x.mean(0), x.std(0) + 1e-6
        x = (x - self.mu_) / self.sd_
        t = self._embed(data.train.classes)[data.train.labels]
        self.w_ = np.linalg.solve(x.T @ x + self.reg * np.eye(x.shape[1]), x.T @ t)
        return self

    def score(self, videos, classes):
        z = ((videos.features - self.mu_) / self.sd_) @ self.w_
        return z @ self._embed(classes).T


if __name__ == "__main__":  # evaluate() starts worker processes, which import this file again
    res = zsar_bench.evaluate(["label", "eszsl", NameRidge(reg=10.0)], ["olympics"], folds="0-1",
                              records="api-example/records.jsonl")
    print(res.df[["method", "config_hash", "fold", "top1", "top1_pct"]])  # one row per run: top1 0-1, top1_pct %
    # the leaderboard summary; partial=True: mean ± std (in %) over the 2 folds run, not the protocol's 50
    print(res.table(partial=True)[["method", "n_runs", "n_expected", "top1_mean", "top1_std"]])
    print(res.markdown(partial=True))  # the tables run_bench.py prints
    res.write_reports("api-example/reports")

    again = zsar_bench.load_results("api-example/records.jsonl")  # the same Results, from the records file
    assert len(again.df) == len(res.df) == 6
