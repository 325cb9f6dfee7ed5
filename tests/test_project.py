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
    datasets_dir = Path(datasets.__file__).parent
    from tobmodel.datasets.build import build
    build(package_dir=tmp_path / "pkg", data_dir=tmp_path / "data", samples=False)
    for bt in datasets.DATASETS:
        for f in sorted((datasets_dir / bt).iterdir()):
            assert (tmp_path / "pkg" / bt / f.name).read_bytes() == f.read_bytes(), f


def test_load_functions_document_source_size_and_columns():
    for fn in (datasets.load_platform, datasets.load_saas, datasets.load_hardware,
               datasets.load_tool):
        doc = fn.__doc__
        assert "Source:" in doc and "Size:" in doc and "Columns:" in doc
        assert fn().config["business_type"] in fn.__name__
