"""The leakage check's ROC AUC (counted or one sort) against scikit-learn's, ties included."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tobmodel.leads.features import roc_auc


@pytest.mark.parametrize("levels", [2, 7, 1000, None])
def test_roc_auc_is_scikit_learns(levels):
    rng = np.random.default_rng(levels or 0)
    y = rng.integers(0, 2, 5000)
    x = rng.normal(size=5000) + 0.4 * y
    if levels is not None:  # few distinct scores: many ties
        x = np.floor(x * levels / 6).clip(-levels, levels)
    assert roc_auc(y, x) == pytest.approx(roc_auc_score(y, x), abs=1e-12)
    assert roc_auc(y, -x) == pytest.approx(1 - roc_auc_score(y, x), abs=1e-12)
    assert roc_auc(y, np.zeros(len(y))) == 0.5
