"""Progress on stderr: stage messages and a tqdm bar on a terminal, quiet under CI."""
from __future__ import annotations

import os

import pytest

from tobmodel.export.progress import show_progress


@pytest.fixture
def terminal():
    """A real pseudo-terminal (isatty() is True), closed afterwards."""
    master, slave = os.openpty()
    f = os.fdopen(slave, "w")
    yield f
    f.close()
    os.close(master)


def test_a_terminal_shows_progress_and_ci_does_not(terminal, monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    assert show_progress(None, terminal) is True
    monkeypatch.setenv("CI", "true")
    assert show_progress(None, terminal) is False
    assert show_progress(True, terminal) is True  # asked for explicitly
    with open(tmp_path / "log", "w") as log:  # a cron job's log file is no terminal
        monkeypatch.delenv("CI")
        assert show_progress(None, log) is False


def test_fit_and_score_print_stages_and_a_bar(tmp_path, capsys):
    import tobmodel
    from tobmodel.cli import main
    from tobmodel.export import export_scores, fit_model
    folder = tobmodel.simulate("saas", n_accounts=200, seed=3).to_parquet(tmp_path / "data")
    model, feats = fit_model(folder, "cox", covariates=["tier"], output=tmp_path / "m.json",
                             progress=True)
    err = capsys.readouterr().err
    for text in ("tobmodel: reading tables from", "building the frame it scores",
                 "fitting cox on", "saving the model to"):
        assert text in err, err
    assert err.count(" done in ") == 4
    export_scores(tmp_path / "m.json", feats, tmp_path / "s.csv", progress=True)
    err = capsys.readouterr().err
    assert "loading the model" in err and "churn scores" in err and "rows/s" in err
    # the command line under a pipe (not a terminal): nothing but the result
    assert main(["score", "--model", str(tmp_path / "m.json"), "--input", str(folder),
                 "--output", str(tmp_path / "s2.csv")]) == 0
    assert capsys.readouterr().err == ""


def test_a_csv_input_bar_knows_its_total(tmp_path, churn_model, make_features, capsys):
    from tobmodel.export import export_scores
    make_features(250).to_csv(tmp_path / "f.csv", index=False)
    export_scores(churn_model, tmp_path / "f.csv", tmp_path / "s.csv", progress=True,
                  chunksize=100)
    err = capsys.readouterr().err
    assert "250/250" in err, err  # a total: tqdm shows n/total and an ETA
