"""Lead model: the observable ceiling beside the oracle (issue 12, item 6).

The oracle (the simulator's true conversion probability) uses the latent fit
and intent of each prospect, which no lead record shows. The observable
ceiling is the same model class fitted on ``--factor`` times as many leads of
the same business (another seed), graded on the same test leads: the gap
oracle -> ceiling is "not in the data", ceiling -> model "the model's loss".

    python benchmarks/bench_lead_ceiling.py                       # 3,000 accounts, 20x
    python benchmarks/bench_lead_ceiling.py --accounts 1000 --factor 5 --seeds 1
"""
from __future__ import annotations

import argparse
import time

import pandas as pd

import tobmodel
from tobmodel.leads import evaluate_lead_model, fit_lead_model, time_split

TYPES = ("saas", "tool", "platform", "hardware")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=3000)
    ap.add_argument("--factor", type=int, default=20)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--types", default=",".join(TYPES))
    ap.add_argument("--kind", default="hgb")
    a = ap.parse_args(argv)
    rows = []
    for btype in a.types.split(","):
        t0 = time.perf_counter()
        big = tobmodel.simulate(btype, n_accounts=a.accounts * a.factor, seed=1000)
        cutoff = big.leads["created_date"].max().normalize() - pd.DateOffset(months=6)
        ceiling = fit_lead_model(time_split(big.leads, cutoff).train, kind=a.kind)
        n_big = len(big.leads)
        del big
        for seed in (int(s) for s in a.seeds.split(",")):
            sim = tobmodel.simulate(btype, n_accounts=a.accounts, seed=seed)
            cut = sim.leads["created_date"].max().normalize() - pd.DateOffset(months=6)
            train, test = time_split(sim.leads, cut)
            model = fit_lead_model(train, kind=a.kind)
            t = evaluate_lead_model(model, test, truth=sim.truth["leads"],
                                    baselines={"ceiling": ceiling})
            auc = t["roc_auc"]
            rows.append({"business_type": btype, "seed": seed, "train_leads": len(train),
                         "ceiling_leads": n_big, "model_auc": auc["model"],
                         "ceiling_auc": auc["ceiling"], "oracle_auc": auc["oracle"]})
        print(f"{btype}: {time.perf_counter() - t0:.0f} s", flush=True)
    table = pd.DataFrame(rows)
    table["not_in_data"] = table["oracle_auc"] - table["ceiling_auc"]
    table["model_loss"] = table["ceiling_auc"] - table["model_auc"]
    with pd.option_context("display.width", 160, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
        print(table.groupby("business_type")[["model_auc", "ceiling_auc", "oracle_auc",
                                              "not_in_data", "model_loss"]].mean().to_string())


if __name__ == "__main__":
    main()
