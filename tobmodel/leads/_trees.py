"""Evaluate HistGradientBoosting trees from plain arrays, vectorised over leads.

A saved boosting model is a list of trees (node arrays). To score without
scikit-learn's private classes, each tree is turned into per-feature tables:
for feature j and each bin b of its values, ``table_j[b, t]`` is the bit mask
of the leaves of tree t that a lead in bin b may still reach. AND-ing the
masks of all features leaves exactly one bit: the lead's leaf (at most 64
leaves per tree). Setting one feature to another value only swaps that
feature's mask, which makes "what if" scores for lead reasons cheap.

Semantics follow scikit-learn's predictor: numbers go left when
``x <= threshold``, missing values follow ``missing_left``; categories go left
when listed in the node's ``left_categories``, right when known to the model,
and follow ``missing_left`` when missing or never seen in training.
"""
from __future__ import annotations

import numpy as np

NODE_FIELDS = ("value", "feature", "threshold", "missing_left", "left", "right", "is_leaf")
MAX_LEAVES = 64


def trees_from_hgb(hgb) -> dict:
    """Plain-array description of a fitted binary HistGradientBoostingClassifier."""
    is_cat = np.asarray(getattr(hgb, "is_categorical_", None)
                        if getattr(hgb, "is_categorical_", None) is not None
                        else np.zeros(hgb.n_features_in_, bool))
    known = {int(j): hgb._bin_mapper.bin_thresholds_[j].astype(int).tolist()
             for j in np.flatnonzero(is_cat)}
    trees = []
    for (pred,) in hgb._predictors:  # binary: one tree per iteration
        nodes = pred.nodes
        left_cats = [[] for _ in range(len(nodes))]
        for i in np.flatnonzero(nodes["is_categorical"] & ~nodes["is_leaf"].astype(bool)):
            words = pred.raw_left_cat_bitsets[nodes["bitset_idx"][i]].astype(np.uint64)
            codes = np.arange(256)
            left_cats[i] = codes[(words[codes // 32] >> (codes % 32).astype(np.uint64)) & 1 == 1
                                 ].tolist()
        trees.append({"value": nodes["value"].tolist(), "feature": nodes["feature_idx"].tolist(),
                      "threshold": nodes["num_threshold"].tolist(),
                      "missing_left": nodes["missing_go_to_left"].astype(bool).tolist(),
                      "left": nodes["left"].tolist(), "right": nodes["right"].tolist(),
                      "is_leaf": nodes["is_leaf"].astype(bool).tolist(),
                      "left_categories": left_cats})
    return {"baseline": float(np.ravel(hgb._baseline_prediction)[0]),
            "categorical": is_cat.astype(bool).tolist(),
            "known_categories": {str(k): v for k, v in known.items()}, "trees": trees}


def _leaf_index(mask: np.ndarray) -> np.ndarray:
    """Index of the single set bit of each mask (the reached leaf), via the float exponent."""
    if mask.dtype == np.uint32:
        return (mask.astype(np.float32).view(np.int32) >> 23) - 127
    return (mask.astype(np.float64).view(np.int64) >> 52) - 1023


class TreeEnsemble:
    """Raw score (log-odds) of a boosted tree ensemble, from :func:`trees_from_hgb` arrays.

    Parameters
    ----------
    spec : dict
        ``baseline``, ``categorical`` (per feature), ``known_categories``
        (``{feature index: codes}``) and ``trees`` (node arrays).
    n_categories : list of int
        Number of category codes of each feature (0 for numbers).
    """

    def __init__(self, spec: dict, n_categories):
        self.spec = spec
        self.baseline = float(spec["baseline"])
        self.categorical = np.asarray(spec["categorical"], bool)
        self.n_features = len(self.categorical)
        trees = [{k: np.asarray(t[k]) for k in NODE_FIELDS} | {"left_categories":
                 t["left_categories"]} for t in spec["trees"]]
        n_leaves = [int(t["is_leaf"].sum()) for t in trees]
        if max(n_leaves, default=1) > MAX_LEAVES:
            raise ValueError(f"trees with more than {MAX_LEAVES} leaves are not supported "
                             f"(found {max(n_leaves)}); lower max_leaf_nodes")
        self._bins(trees, n_categories, spec.get("known_categories", {}))
        self._tables(trees, n_leaves)

    def _bins(self, trees, n_categories, known):
        self.thresholds, self.n_bins, self.known = [], [], []
        for j in range(self.n_features):
            if self.categorical[j]:
                k = int(n_categories[j])
                ok = np.zeros(k + 1, bool)
                ok[[c for c in known.get(str(j), []) if 0 <= c < k]] = True
                self.known.append(ok)
                self.thresholds.append(None)
                self.n_bins.append(k + 1)  # last bin: missing or unknown
            else:
                thr = [t["threshold"][(~t["is_leaf"].astype(bool)) & (t["feature"] == j)]
                       for t in trees]
                self.thresholds.append(np.unique(np.concatenate(thr + [np.empty(0)])))
                self.known.append(None)
                self.n_bins.append(len(self.thresholds[-1]) + 2)  # last bin: missing

    def _tables(self, trees, n_leaves):
        n_trees = len(trees)
        self.dtype = np.uint32 if max(n_leaves, default=1) <= 32 else np.uint64
        self.tables = [np.full((b, n_trees), ~self.dtype(0), self.dtype) for b in self.n_bins]
        self.leaf_values = np.zeros((n_trees, MAX_LEAVES))
        self.uses = [set() for _ in range(self.n_features)]
        for t, tree in enumerate(trees):
            is_leaf = tree["is_leaf"].astype(bool)
            order, i = [0], 0
            while i < len(order):  # breadth-first: parents before children
                if not is_leaf[order[i]]:
                    order += [int(tree["left"][order[i]]), int(tree["right"][order[i]])]
                i += 1
            leaves = [n for n in sorted(order) if is_leaf[n]]
            sub = {n: self.dtype(1) << self.dtype(b) for b, n in enumerate(leaves)}
            self.leaf_values[t, :len(leaves)] = tree["value"][leaves]
            for n in reversed(order):
                if not is_leaf[n]:
                    sub[n] = sub[int(tree["left"][n])] | sub[int(tree["right"][n])]
            for table in self.tables:  # bits of leaves this tree lacks stay 0
                table[:, t] = sub[0]
            for n in order:
                if is_leaf[n]:
                    continue
                j = int(tree["feature"][n])
                self.uses[j].add(t)
                go_left = self._goes_left(j, tree, n)
                self.tables[j][go_left, t] &= ~sub[int(tree["right"][n])]
                self.tables[j][~go_left, t] &= ~sub[int(tree["left"][n])]
        self.uses = [np.asarray(sorted(u), dtype=np.intp) for u in self.uses]

    def _goes_left(self, j, tree, n) -> np.ndarray:
        """Direction of each bin of feature j at node n of a tree."""
        missing_left = bool(tree["missing_left"][n])
        if self.categorical[j]:
            go = np.where(self.known[j], False, missing_left)
            cats = [c for c in tree["left_categories"][n] if c < len(go) - 1]
            go[cats] = True
            go[-1] = missing_left
            return go
        k = np.searchsorted(self.thresholds[j], tree["threshold"][n])
        go = np.arange(self.n_bins[j]) <= k
        go[-1] = missing_left
        return go

    def bin_of(self, j: int, z: np.ndarray) -> np.ndarray:
        """Bin index of values ``z`` of feature j (codes for categories)."""
        z = np.asarray(z, dtype=np.float64)
        missing = np.isnan(z)
        last = self.n_bins[j] - 1
        if self.categorical[j]:
            b = np.where(missing | (z < 0) | (z >= last), last, np.nan_to_num(z, nan=last))
            return b.astype(np.intp)
        b = np.searchsorted(self.thresholds[j], z, side="left")
        b[missing] = last
        return b

    chunk_rows = 4096  # rows per block: masks of a block stay in the CPU cache

    def prepare(self, Z: np.ndarray) -> "_TreeState":
        """Evaluate a block of encoded leads (rows of ``Z``); keep what "what if" needs."""
        return _TreeState(self, Z)


class _TreeState:
    """Leaf masks of one block of leads: the raw score and one-feature "what if" scores."""

    def __init__(self, ens: TreeEnsemble, Z: np.ndarray):
        self.ens = ens
        n_trees = ens.leaf_values.shape[0]
        self.masks = [np.take(ens.tables[j], ens.bin_of(j, Z[:, j]), axis=0)
                      for j in range(ens.n_features)]
        acc = np.full((len(Z), n_trees), ~ens.dtype(0), ens.dtype)
        for m in self.masks:
            acc &= m
        self.leaf_value = self._values(acc, np.arange(n_trees))
        self.raw = ens.baseline + self.leaf_value.sum(axis=1)
        self.prefix = self.suffix = None

    def _values(self, mask, cols):
        """Leaf value reached in each tree ``cols`` (masks have one bit left per tree)."""
        flat = self.ens.leaf_values.ravel()
        return np.take(flat, _leaf_index(mask) + (cols * MAX_LEAVES)[None, :])

    def _prefix_suffix(self):
        """AND of the masks of features before j (prefix) and from j on (suffix)."""
        n = len(self.masks)
        full = np.full(self.masks[0].shape, ~self.ens.dtype(0), self.ens.dtype)
        self.suffix, acc = [None] * n + [full], full
        for j in range(n - 1, -1, -1):
            acc = acc & self.masks[j]
            self.suffix[j] = acc
        self.prefix, acc = [], full
        for j in range(n):
            self.prefix.append(acc)
            acc = acc & self.masks[j]

    def raw_with(self, j: int, values) -> np.ndarray:
        """Raw scores with feature j set to each of ``values``: shape (n, len(values))."""
        ens = self.ens
        cols = ens.uses[j]
        out = np.repeat(self.raw[:, None], len(values), axis=1)
        if len(cols) == 0:
            return out
        if self.prefix is None:
            self._prefix_suffix()
        rest = self.raw - self.leaf_value[:, cols].sum(axis=1)
        others = self.prefix[j][:, cols] & self.suffix[j + 1][:, cols]
        for k, b in enumerate(ens.bin_of(j, np.asarray(values, dtype=np.float64))):
            out[:, k] = rest + self._values(others & ens.tables[j][b, cols], cols).sum(axis=1)
        return out
