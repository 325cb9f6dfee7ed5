"""Bounded memory: the scorer never sees more than ``chunksize`` rows; progress bar on demand."""
from __future__ import annotations

import pandas as pd
import pytest

from tobmodel.export import export_scores, write_tables


class Recording:
    """Wraps a model and records how many rows each ``score`` call received."""

    def __init__(self, model):
        self._model, self.sizes = model, []

    def __getattr__(self, name):
        return getattr(self._model, name)

    def score(self, df, *args, **kw):
        self.sizes.append(len(df))
        return self._model.score(df, *args, **kw)


def _source(kind, tmp_path, feats):
    if kind == "csv":
        feats.to_csv(tmp_path / "f.csv", index=False)
        return tmp_path / "f.csv"
    if kind == "parquet":
        feats.to_parquet(tmp_path / "f.parquet", row_group_size=1000)  # groups > chunks
        return tmp_path / "f.parquet"
    url = f"sqlite:///{tmp_path / 'in.sqlite'}"
    write_tables({"account_features": feats}, url)
    return url


@pytest.mark.parametrize("kind", ["csv", "parquet", "sqlite"])
def test_the_scorer_never_sees_more_than_chunksize_rows(tmp_path, churn_model, make_features,
                                                        kind):
    feats = make_features(2500)
    model = Recording(churn_model)
    s = export_scores(model, _source(kind, tmp_path, feats), tmp_path / "out.parquet",
                      chunksize=300)
    assert max(model.sizes) <= 300 and sum(model.sizes) == 2500 == s.scored
    assert len(model.sizes) == 9  # ceil(2500 / 300): streamed, not read whole
    back = pd.read_parquet(tmp_path / "out.parquet")
    # every row once, written highest risk first (ties by id), whatever the chunks
    assert sorted(back["account_id"]) == list(range(1, 2501))
    assert back.sort_values(["p_churn_horizon", "account_id"], ascending=[False, True],
                            kind="stable")["account_id"].tolist() == back["account_id"].tolist()


def test_progress_bar_only_when_asked_or_on_a_terminal(capfd, churn_model, make_features,
                                                       tmp_path):
    feats = make_features(500)
    export_scores(churn_model, feats, tmp_path / "a.csv", chunksize=100)  # stderr not a tty
    assert capfd.readouterr().err == ""
    export_scores(churn_model, feats, tmp_path / "b.csv", chunksize=100, progress=True)
    err = capfd.readouterr().err
    assert "churn scores" in err and "500/500" in err
