"""Evaluate boosted trees from plain arrays, vectorised over rows (leads, person-months).

A saved boosting model is a list of trees (node arrays: LightGBM's documented
model dump, :func:`trees_from_lightgbm`, or scikit-learn HistGradientBoosting
trees in lead format 1 files). Each tree is turned into per-feature tables:
for feature j and each bin b of its values, ``table_j[b, t]`` is the bit mask
of the leaves of tree t that a lead in bin b may still reach. AND-ing the
masks of all features leaves exactly one bit: the lead's leaf (at most 64
leaves per tree). Features are packed into groups whose joint bins index one
AND-ed table, so a lead costs a few look-ups per tree. Setting one feature to
another value only swaps that feature's mask, which makes "what if" scores
cheap; per-leaf path contributions split each score by feature.

Node semantics: numbers go left when ``x <= threshold``, missing values follow
``missing_left``; categories go left when listed in the node's
``left_categories``, right when known to the model, and follow ``missing_left``
when missing or never seen in training. :func:`trees_from_lightgbm` writes
LightGBM's rules in these terms.
"""
from __future__ import annotations

import os
import sys

import numpy as np
from scipy.sparse import csr_matrix

NODE_FIELDS = ("value", "feature", "threshold", "missing_left", "left", "right", "is_leaf")
MAX_LEAVES = 64


def trees_from_lightgbm(dump: dict, n_categories) -> dict:
    """Plain-array trees of a binary LightGBM model, from its documented model dump.

    ``dump`` is ``booster.dump_model()`` (LightGBM's JSON model description);
    ``n_categories`` the number of codes of each feature (0 for numbers). Each
    node keeps LightGBM's rule: numbers go left when ``x <= threshold``; a
    missing number goes where ``default_left`` says if the tree learnt a rule
    for missing values (``missing_type`` NaN) and is read as 0 otherwise;
    categories go left when listed in the split, right otherwise (also when
    missing, negative or unknown). ``count`` holds the training leads per node,
    which the per-feature contributions of :meth:`TreeEnsemble.contributions` use.
    """
    if dump.get("num_tree_per_iteration", 1) != 1 or dump.get("num_class", 1) != 1:
        raise ValueError("only binary LightGBM models are supported")
    if not str(dump.get("objective", "")).startswith("binary") or \
            "sigmoid:1" not in str(dump.get("objective")):
        raise ValueError(f"LightGBM objective {dump.get('objective')!r} is not 'binary sigmoid:1'")
    if dump.get("average_output"):
        raise ValueError("averaged LightGBM outputs (random forest mode) are not supported")
    n_categories = [int(k) for k in n_categories]
    trees = []
    for info in dump["tree_info"]:
        nodes = []

        def visit(node):
            i = len(nodes)
            nodes.append(None)
            if "leaf_value" in node or "split_feature" not in node:
                nodes[i] = (float(node.get("leaf_value", 0.0)), 0, 0.0, False, -1, -1, True, [],
                            int(node.get("leaf_count", 0)))
                return i
            j, kind = int(node["split_feature"]), node["decision_type"]
            missing = node.get("missing_type", "None")
            if kind == "==":
                cats = sorted(int(c) for c in str(node["threshold"]).split("||"))
                row = (0.0, j, 0.0, False, cats)
            elif kind == "<=":
                thr = float(node["threshold"])
                if missing == "NaN":
                    missing_left = bool(node["default_left"])
                elif missing == "None":
                    missing_left = 0.0 <= thr  # LightGBM reads a missing number as 0
                else:
                    raise ValueError(f"LightGBM missing_type {missing!r} is not supported "
                                     "(zero_as_missing must stay off)")
                row = (0.0, j, thr, missing_left, [])
            else:
                raise ValueError(f"LightGBM decision_type {kind!r} is not supported")
            left, right = visit(node["left_child"]), visit(node["right_child"])
            nodes[i] = (float(node.get("internal_value", 0.0)), row[1], row[2], row[3], left,
                        right, False, row[4], int(node.get("internal_count", 0)))
            return i

        visit(info["tree_structure"])
        cols = list(zip(*nodes))
        trees.append({"value": list(cols[0]), "feature": list(cols[1]),
                      "threshold": list(cols[2]), "missing_left": list(cols[3]),
                      "left": list(cols[4]), "right": list(cols[5]), "is_leaf": list(cols[6]),
                      "left_categories": [list(c) for c in cols[7]], "count": list(cols[8])})
    categorical = [k > 0 for k in n_categories]
    return {"baseline": 0.0, "categorical": categorical, "source": "lightgbm",
            "known_categories": {str(j): list(range(k)) for j, k in enumerate(n_categories)
                                 if k > 0},
            "trees": trees}


def _leaf_index(mask: np.ndarray) -> np.ndarray:
    """Index of the single set bit of each mask (the reached leaf), via the float exponent."""
    if mask.dtype == np.uint32:
        return (mask.astype(np.float32).view(np.int32) >> 23) - 127
    return (mask.astype(np.float64).view(np.int64) >> 52) - 1023


class TreeEnsemble:
    """Raw score (log-odds) of a boosted tree ensemble, from :func:`trees_from_lightgbm` arrays (or lead format 1 files).

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
        self._group_tables()
        self.has_contributions = bool(trees) and all("count" in t for t in spec["trees"])
        if self.has_contributions:
            self._contributions([t | {"count": np.asarray(s["count"], float)}
                                 for t, s in zip(trees, spec["trees"])])

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

    GROUP_BINS = 4096  # joint bins of one group table: (4096 x trees) masks stay in cache

    def _group_tables(self):
        """Features packed into groups whose joint bins index one AND-ed table.

        A lead's masks are then one look-up per group instead of one per feature
        (13 features fit in about 4 groups). Features no tree splits on are left out.
        """
        used = [j for j in range(self.n_features) if len(self.uses[j])]
        groups = []  # [features, joint bin count]
        for j in sorted(used, key=lambda j: -self.n_bins[j]):
            for g in groups:
                if g[1] * self.n_bins[j] <= self.GROUP_BINS:
                    g[0].append(j)
                    g[1] *= self.n_bins[j]
                    break
            else:
                groups.append([[j], self.n_bins[j]])
        self.groups = []
        for features, size in groups:
            table = self.tables[features[0]]
            for j in features[1:]:  # joint bin = b_first * n_bins[rest...] + ... + b_last
                table = (table[:, None, :] & self.tables[j][None, :, :]).reshape(
                    -1, table.shape[-1])
            strides = np.cumprod([1] + [self.n_bins[j] for j in features[:0:-1]])[::-1]
            self.groups.append((features, strides.astype(np.intp), table))
        # with no split at all, every table row is the mask of each tree's only leaf
        self.root_masks = self.tables[0][0] if self.tables else np.zeros(0, self.dtype)

    def _contributions(self, trees):
        """Per-leaf, per-feature contributions (log-odds) of each tree, and their bias.

        The expected value of a node is the training-count-weighted mean of the
        leaves below it. Going down a lead's path, each split moves the expected
        value from the node's to the child's; the move is credited to the split's
        feature (the path decomposition of Saabas, which LightGBM and XGBoost
        also offer as approximate contributions). Per leaf: bias + sum of
        contributions = leaf value, so the contributions of a lead add up to its
        raw score minus :attr:`bias`.
        """
        n_trees = len(trees)
        self.contrib = np.zeros((n_trees * MAX_LEAVES, self.n_features))
        self.bias = self.baseline
        for t, tree in enumerate(trees):
            is_leaf = tree["is_leaf"].astype(bool)
            left, right = tree["left"].astype(int), tree["right"].astype(int)
            count, value = tree["count"], tree["value"].astype(float)
            mean, weight = value.copy(), count.copy()
            order, i = [0], 0
            while i < len(order):  # breadth-first: parents before children
                if not is_leaf[order[i]]:
                    order += [int(left[order[i]]), int(right[order[i]])]
                i += 1
            for n in reversed(order):
                if not is_leaf[n]:
                    a, b = left[n], right[n]
                    w = weight[a] + weight[b]
                    mean[n] = (mean[a] * weight[a] + mean[b] * weight[b]) / w if w > 0 \
                        else (mean[a] + mean[b]) / 2
                    weight[n] = w
            self.bias += mean[0]
            leaves = [n for n in sorted(order) if is_leaf[n]]
            bit = {n: b for b, n in enumerate(leaves)}
            path = {0: np.zeros(self.n_features)}
            for n in order:
                if is_leaf[n]:
                    self.contrib[t * MAX_LEAVES + bit[n]] = path[n]
                    continue
                j = int(tree["feature"][n])
                for child in (left[n], right[n]):
                    path[child] = path[n].copy()
                    path[child][j] += mean[child] - mean[n]

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
        self.ens, self.Z = ens, Z
        n_trees = ens.leaf_values.shape[0]
        acc = None
        for features, strides, table in ens.groups:
            joint = ens.bin_of(features[0], Z[:, features[0]]) * strides[0]
            for j, stride in zip(features[1:], strides[1:]):
                joint += ens.bin_of(j, Z[:, j]) * stride
            m = np.take(table, joint, axis=0)
            acc = m if acc is None else np.bitwise_and(acc, m, out=acc)
        if acc is None:  # no tree splits: every lead reaches each tree's only leaf
            acc = np.tile(ens.root_masks, (len(Z), 1)).astype(ens.dtype)
        self.leaf = _leaf_index(acc) + (np.arange(n_trees) * MAX_LEAVES)[None, :]
        self.leaf_value = np.take(ens.leaf_values.ravel(), self.leaf)
        self.raw = ens.baseline + self.leaf_value.sum(axis=1)
        self.prefix = self.suffix = None

    def _values(self, mask, cols):
        """Leaf value reached in each tree ``cols`` (masks have one bit left per tree)."""
        flat = self.ens.leaf_values.ravel()
        return np.take(flat, _leaf_index(mask) + (cols * MAX_LEAVES)[None, :])

    def contributions(self) -> np.ndarray | None:
        """Log-odds contribution of each feature to each lead's raw score, (n, features).

        ``raw = ens.bias + contributions.sum(axis=1)``; None for trees saved without
        node counts (lead format 1), which explain leads by "what if" scores instead.
        """
        ens = self.ens
        if not ens.has_contributions:
            return None
        n, n_trees = self.leaf.shape
        if n == 0:
            return np.zeros((0, ens.n_features))
        # one-hot rows of the reached leaves times the per-leaf table: a sparse product
        onehot = csr_matrix((np.ones(n * n_trees), self.leaf.ravel(),
                             np.arange(0, n * n_trees + 1, n_trees)),
                            shape=(n, n_trees * MAX_LEAVES))
        return np.asarray(onehot @ ens.contrib)

    def _prefix_suffix(self):
        """AND of the masks of features before j (prefix) and from j on (suffix)."""
        ens = self.ens
        self.masks = [np.take(ens.tables[j], ens.bin_of(j, self.Z[:, j]), axis=0)
                      for j in range(ens.n_features)]
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


def import_lightgbm():
    """``lightgbm``, imported with OpenMP's threads told to sleep when idle.

    LightGBM's OpenMP runtime (the system's ``libgomp``, loaded with ``lightgbm``)
    reads ``OMP_WAIT_POLICY`` once, when it loads. Its default keeps idle threads
    spinning, which on a busy machine made two threads five times slower than one
    (a 300,000-lead fit: 58 s against 12 s at load 8); ``PASSIVE`` makes them wait
    in the kernel (14.8 s against 17.1 s on the same machine), at no cost to one
    thread. Set before the first import only, and never over the user's own value.
    """
    if "lightgbm" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import lightgbm
    return lightgbm
