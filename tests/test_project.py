"""The project keeps its promises: one dependency list, a current data dictionary,
datasets that rebuild byte for byte."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from tobmodel import datasets
from tobmodel.schema import TABLES, data_dictionary

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_installs_the_package_and_repeats_nothing():
    env = (ROOT / "environment.yml").read_text()
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=\[ ;]", d)[0].lower() for d in deps["dependencies"]}
    for extra in deps["optional-dependencies"].values():
        names |= {re.split(r"[<>=\[ ;]", d)[0].lower() for d in extra}
    names.discard("tobmodel")
    listed = re.findall(r"^\s*-\s*([A-Za-z0-9_.\-]+)", env, flags=re.M)
    assert "-e .[dev]" in env
    repeated = {n.lower() for n in listed} & names
    assert not repeated, f"environment.yml repeats {sorted(repeated)}; list them in pyproject.toml"


def test_data_dictionary_is_current_and_covers_every_column():
    text = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert text == data_dictionary(), "run `make data` to regenerate data/README.md"
    for table in TABLES.values():
        for col in table.names:
            assert f"`{col}`" in text


@pytest.mark.parametrize("bt", list(datasets.DATASETS))
def test_shipped_dataset_matches_the_simulator_and_the_schema(bt):
    import tobmodel
    shipped = datasets.load_business(bt)
    fresh = tobmodel.simulate(**datasets.DATASETS[bt])
    for name, df in fresh.tables.items():
        pd.testing.assert_frame_equal(shipped.tables[name], df)
        assert list(df.columns) == TABLES[name].names
        for col in TABLES[name].columns:
            assert str(df[col.name].dtype) == col.dtype, (name, col.name)
    for name, df in fresh.truth.items():
        pd.testing.assert_frame_equal(shipped.truth[name], df)


def test_rebuild_writes_the_same_bytes(tmp_path):
    """Observable tables and configs rebuild byte for byte on any CPU. Truth tables
    (rounded to TRUTH_DECIMALS) too on this CPU's numpy; on another CPU a last-bit
    difference may cross a rounding boundary, so there they agree to 1e-9."""
    datasets_dir = Path(datasets.__file__).parent
    from tobmodel.datasets.build import build
    build(package_dir=tmp_path / "pkg", data_dir=tmp_path / "data", samples=False)
    for bt in datasets.DATASETS:
        for f in sorted((datasets_dir / bt).iterdir()):
            rebuilt = tmp_path / "pkg" / bt / f.name
            if not f.name.startswith("truth_"):
                assert rebuilt.read_bytes() == f.read_bytes(), f
            elif rebuilt.read_bytes() != f.read_bytes():
                pd.testing.assert_frame_equal(pd.read_parquet(rebuilt), pd.read_parquet(f),
                                              check_exact=False, rtol=0, atol=1e-9)


def test_truth_is_rounded_so_other_cpus_write_the_same_bytes():
    import numpy as np

    import tobmodel
    from tobmodel.simulator import TRUTH_DECIMALS
    sim = tobmodel.simulate("saas", n_accounts=150, seed=4)
    floats = 0
    for name, df in sim.truth.items():
        for c in df.columns:
            if df[c].dtype.kind == "f":
                x = df[c].to_numpy()
                assert np.array_equal(x, np.round(x, TRUTH_DECIMALS), equal_nan=True), (name, c)
                floats += 1
    assert floats >= 4  # p_convert, hazard, unresolved_share, p_churn_12m, ...
    shipped = datasets.load_business("saas").truth["hazard"]["hazard"].to_numpy()
    assert np.array_equal(shipped, np.round(shipped, TRUTH_DECIMALS))


def test_load_functions_document_source_size_and_columns():
    for fn in (datasets.load_platform, datasets.load_saas, datasets.load_hardware,
               datasets.load_tool):
        doc = fn.__doc__
        assert "Source:" in doc and "Size:" in doc and "Columns:" in doc
        assert fn().config["business_type"] in fn.__name__
