"""Regression discontinuity: local-polynomial estimation with robust bias-corrected inference.

The public RD API of clusteratlas, one front door over the modules of this package:

* :func:`rdrobust` (:mod:`.estimate`) -- sharp / fuzzy / kink RD point estimates with
  conventional, bias-corrected and robust bias-corrected inference (Calonico, Cattaneo and
  Titiunik 2014; Calonico, Cattaneo and Farrell 2020), returning an :class:`RDResult`;
* :func:`rdbwselect` (:mod:`.bandwidth`) -- the MSE- and CER-optimal bandwidth selectors;
* :func:`rddensity`, :func:`rdbwdensity` (:mod:`.density`) -- the Cattaneo-Jansson-Ma
  manipulation test;
* :func:`rdplot` (:mod:`.plots`) -- binned scatter with IMSE-optimal bins and polynomial fits;
* :func:`rd_placebo`, :func:`rd_bandwidth_sensitivity` (:mod:`.placebo`) -- falsification.

Inside: :mod:`.inputs` turns user inputs into validated arrays; :mod:`.core` holds the numerics
(kernels, local-polynomial fits, NN/HC/CR variance meats, compiled loops). Option names and
meanings are those of the rdrobust package (2.1.1), whose numbers this implementation
reproduces (``docs/rd.md``).
"""

from clusteratlas.causal.rd.bandwidth import RDBandwidths, rdbwselect
from clusteratlas.causal.rd.density import DensityResult, rdbwdensity, rddensity
from clusteratlas.causal.rd.estimate import RDResult, rdrobust
from clusteratlas.causal.rd.inputs import BWSELECTS, VCES
from clusteratlas.causal.rd.placebo import RDTable, rd_bandwidth_sensitivity, rd_placebo
from clusteratlas.causal.rd.plots import RDPlot, rdplot

__all__ = [
    "BWSELECTS",
    "VCES",
    "DensityResult",
    "RDBandwidths",
    "RDPlot",
    "RDResult",
    "RDTable",
    "rd_bandwidth_sensitivity",
    "rd_placebo",
    "rdbwdensity",
    "rdbwselect",
    "rddensity",
    "rdplot",
    "rdrobust",
]
