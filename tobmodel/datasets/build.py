"""Rebuild the shipped datasets and the samples in data/, byte for byte.

Run ``make data`` (or ``python -m tobmodel.datasets.build``). It writes

* ``tobmodel/datasets/<business_type>/`` — the small datasets behind ``load_*()``;
* ``data/sample_<business_type>/`` — larger samples (1,500 accounts each);
* ``data/README.md`` — the data dictionary, from ``tobmodel/schema.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..paths import SAMPLES_DIR as DATA_DIR
from ..schema import data_dictionary
from . import DATASETS, HERE

SAMPLE_ACCOUNTS = 1500


def build(package_dir: Path = HERE, data_dir: Path = DATA_DIR, samples: bool = True) -> list:
    """Write every dataset; return the folders written."""
    from ..simulator import simulate
    written = []
    for bt, cfg in DATASETS.items():
        sim = simulate(**cfg)
        folder = sim.to_parquet(Path(package_dir) / bt)
        (folder / "config.json").write_text(json.dumps(sim.config, sort_keys=True, indent=1)
                                            + "\n")
        written.append(folder)
        if samples:
            big = simulate(**{**cfg, "n_accounts": SAMPLE_ACCOUNTS})
            folder = big.to_parquet(Path(data_dir) / f"sample_{bt}")
            (folder / "config.json").write_text(json.dumps(big.config, sort_keys=True,
                                                           indent=1) + "\n")
            written.append(folder)
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    (Path(data_dir) / "README.md").write_text(data_dictionary(), encoding="utf-8")
    return written


if __name__ == "__main__":  # pragma: no cover
    for f in build():
        print(f"wrote {f}")
