"""Real public datasets with a cutoff, shared by the RD tests (none is synthetic).

* ``senate``: US Senate elections 1914-2010 (Cattaneo, Frandsen and Titiunik 2015), shipped with
  the rdrobust package: Democratic vote share at t+2 (``vote``) on the margin at t (``margin``).
* ``lmb``: US House elections (Lee, Moretti and Butler 2004), causaldata ``close_elections_lmb``:
  ADA score (``score``) on the lagged Democratic vote share, cutoff 0.5. ``democrat`` (party of
  the representative at t) jumps imperfectly at the cutoff: a real fuzzy design.
* ``gov``: Uruguay's PANES cash transfer (Manacorda, Miguel and Vigorito 2011), causaldata
  ``gov_transfers``: government support on centred predicted income, cutoff 0. In this extract
  ``Participation`` is 1 exactly left of the cutoff (perfect compliance), so as "fuzzy" it only
  exercises the perfect-compliance path.
* ``senate_fuzzy``: the senate data with an ARTIFICIAL fuzzy treatment we construct.
* ``mortgages``: Fetter (2013), causaldata ``mortgages``: home ownership on quarter of birth
  relative to the Korean War eligibility cutoff; ``vet_wwko`` (veteran status) jumps imperfectly;
  the running variable has mass points (quarters).
* ``uscm``: US Cluster Mapping 2016 state x traded-cluster employment and wages (shared data):
  wage relative to the cluster's national average on the log location quotient, cutoff 0
  (LQ = 1). Real data; the running variable is derived by us.
* ``rcp``: the retirement consumption puzzle (Battistin, Brugiavini, Rettore and Weber 2009,
  Italian SHIW 1993-2004, male household heads), the ``rcp.csv`` file shipped with the rdhonest
  package (Armstrong and Kolesar's RDHonest): log non-durable consumption (``log_cn``) on years
  since pension eligibility (``elig_year``, integers, no 0: cutoff 0). ``retired`` jumps from
  about 15-25% just before eligibility to 60-75% just after: a real fuzzy design.

causaldata ships some columns as float32; they are converted to float64 so that our estimator
and the reference see identical numbers (rdrobust otherwise computes partly in float32).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd


def _float64(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: "float64" for c in frame.columns if frame[c].dtype == "float32"})


def senate() -> pd.DataFrame:
    from rdrobust import rdrobust_RDsenate

    return rdrobust_RDsenate()


def senate_fuzzy() -> pd.DataFrame:
    """Senate data with an ARTIFICIAL fuzzy treatment (constructed by us, deterministic):
    treated = 1{margin >= 0} in presidential years but 1{margin >= 10} in midterm years, so the
    treatment probability jumps at 0 by the share of non-midterm races (imperfect compliance)."""
    frame = senate().dropna(subset=["vote", "margin"]).reset_index(drop=True)
    frame["treated"] = np.where(
        frame["dmidterm"] == 1, frame["margin"] >= 10, frame["margin"] >= 0
    ).astype(float)
    return frame


def lmb() -> pd.DataFrame:
    import causaldata

    return (
        _float64(causaldata.close_elections_lmb.load_pandas().data).dropna().reset_index(drop=True)
    )


def gov() -> pd.DataFrame:
    import causaldata

    return _float64(causaldata.gov_transfers.load_pandas().data)


def mortgages() -> pd.DataFrame:
    import causaldata

    return _float64(causaldata.mortgages.load_pandas().data)


def rcp() -> pd.DataFrame:
    # Read the bundled file directly: rdhonest's own loader silently generates synthetic data
    # when the file is missing, which a reference test must never use.
    spec = importlib.util.find_spec("rdhonest")
    if spec is None or spec.origin is None:
        raise ImportError("the rcp dataset ships with the rdhonest package: pip install rdhonest")
    path = Path(spec.origin).parent / "data" / "rcp.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed rdhonest package")
    frame = pd.read_csv(path)
    frame["retired"] = frame["retired"].astype("float64")
    frame["log_cn"] = np.log(frame["cn"])
    return frame


def uscm(shared_data: Path) -> pd.DataFrame:
    raw = pd.read_csv(
        shared_data / "clusters" / "uscm_state_cluster_2016_inputs.csv.gz",
        dtype={"region_code_t": str},
    )
    traded = raw[raw["traded_b"].astype(str).str.upper() == "TRUE"].copy()
    traded = traded[(traded["emp_tl"] > 0) & (traded["private_wage_tf"] > 0)]
    state_total = traded.groupby("region_code_t")["emp_tl"].transform("sum")
    cluster_total = traded.groupby("cluster_code_t")["emp_tl"].transform("sum")
    national = traded["emp_tl"].sum()
    traded["log_lq"] = np.log((traded["emp_tl"] / state_total) / (cluster_total / national))
    cluster_wage = traded.groupby("cluster_code_t")["private_wage_tf"].transform("mean")
    traded["rel_wage"] = np.log(traded["private_wage_tf"] / cluster_wage)
    return traded[["region_code_t", "cluster_code_t", "log_lq", "rel_wage", "emp_tl"]].reset_index(
        drop=True
    )
