"""Configurations of the infra-marginal cluster model and their closed-form individual optima.

This module owns the *individual* level of the model (Li Ke, eqs. 1a-1d): for every
configuration compatible with Lemma 1 it gives, at given prices, the individual's optimal
labour allocation, trades and indirect utility in closed form, vectorised over numpy arrays.

Primitives (eqs. 1a-1d):

* utility ``u = x^c * y^c`` with ``x^c = x + k_x x^d`` and ``y^c = y + k_y y^d``;
* ``x^p = Z^g (l_x - F)`` with ``Z = z + k_z z^d`` and technology exponent ``g``: ``g = 0``
  (no z), ``g = alpha`` (roundabout production) or ``g = beta = alpha + e - theta``
  (industrial cluster); ``y^p = l_y - b``, ``z^p = l_z - b``; ``l_x + l_y + l_z = 1``;
* budget ``p_x (x^s - x^d) + p_y (y^s - y^d) + p_z (z^s - z^d) = 0``; ``k_i = (1 - t_i) K_i``.

Every indirect utility is a *monomial in prices*: ``log V_c = log A_c + sum_g a_{c,g} log p_g``
(Cobb-Douglas preferences and technologies with a linear budget). That is what lets
:mod:`clusteratlas.theory.model` solve utility equalisation as a linear system in log prices.
The derivation of each form is in :mod:`clusteratlas.theory.derive` (sympy, from the
primitives) and each is checked by brute-force optimisation in
:mod:`clusteratlas.theory.bruteforce`.

Technology rule (an interpretation, stated in docs/theory.md): the cluster exponent ``beta``
is available only to an x producer who *buys* z from specialist suppliers (the network the
paper calls an industrial cluster); self-provided z is used with ``alpha``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

GOODS = ("x", "y", "z")

Array = np.ndarray


@dataclass(frozen=True)
class Point:
    """Model parameters at one or many points (numpy arrays that broadcast together)."""

    alpha: Array
    beta: Array
    b: Array
    F: Array
    kx: Array
    ky: Array
    kz: Array
    z_scale: Array = 1.0  # variant "scaled-z": z^p = z_scale (l_z - b); the paper has 1

    def k(self, good: str) -> Array:
        return {"x": self.kx, "y": self.ky, "z": self.kz}[good]


@dataclass(frozen=True)
class Plan:
    """An individual's optimal decision in one configuration at given prices (per person)."""

    utility: Array
    labour: dict[str, Array]  # l_x, l_y, l_z
    sells: dict[str, Array]  # good -> amount sold (before iceberg loss)
    buys: dict[str, Array]  # good -> amount bought (shipped amount; k_g of it arrives)
    consumption: dict[str, Array]  # x^c, y^c


@dataclass(frozen=True)
class Configuration:
    """One configuration: what a person produces, sells and buys, and with which technology.

    ``tech`` is the exponent on z in x production: ``"none"``, ``"alpha"`` or ``"beta"``.
    ``z_use`` is how the person's x production obtains z: ``"none"``, ``"self"`` or ``"bought"``.
    """

    name: str
    sells: str | None
    buys: tuple[str, ...]
    produces: tuple[str, ...]
    z_use: str
    tech: str
    description: str
    _form: Callable[[Point, Array], tuple[Array, dict[str, Array], Array, str]] = field(
        repr=False, compare=False
    )
    _plan: Callable[[Point, Array, dict[str, Array]], Plan] = field(repr=False, compare=False)

    @property
    def trades(self) -> tuple[str, ...]:
        return ((self.sells,) if self.sells else ()) + self.buys

    def gamma(self, point: Point) -> Array:
        """The technology exponent on z (0 when x is made without z or not made at all)."""
        if self.tech == "alpha":
            return np.asarray(point.alpha, dtype=float)
        if self.tech == "beta":
            return np.asarray(point.beta, dtype=float)
        return np.zeros_like(np.asarray(point.alpha, dtype=float))

    def form(self, point: Point) -> tuple[Array, dict[str, Array], Array, str]:
        """``(log A_c, {good: exponent}, exists mask, reason if not)`` of ``V_c = A_c prod p^a``."""
        return self._form(point, self.gamma(point))

    def log_utility(self, point: Point, log_prices: dict[str, Array]) -> Array:
        log_coef, exponents, _, _ = self.form(point)
        out = np.array(log_coef, dtype=float, copy=True)
        for good, power in exponents.items():
            out = out + power * log_prices[good]
        return out

    def plan(self, point: Point, prices: dict[str, Array]) -> Plan:
        """The optimal labour allocation, trades and utility at ``prices`` (closed form)."""
        return self._plan(point, self.gamma(point), prices)


def _log(value: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.where(value > 0, value, np.nan))


def _zeros(point: Point) -> Array:
    return np.zeros(np.broadcast(point.alpha, point.b, point.F, point.kx).shape)


# ---------------------------------------------------------------------------------------------
# Closed forms. E is the effective labour 1 - (fixed costs of every good the person produces).
# ---------------------------------------------------------------------------------------------


def _exists_labour(E: Array) -> tuple[Array, str]:
    return E > 0, "fixed learning costs exhaust the labour endowment (effective labour <= 0)"


def _autarky_plain_form(p: Point, g: Array):
    E = 1 - p.F - p.b
    ok, why = _exists_labour(E)
    return 2 * _log(E / 2), {}, ok, why


def _autarky_plain_plan(p: Point, g: Array, prices):
    E = 1 - p.F - p.b
    z = _zeros(p)
    return Plan(
        (E / 2) ** 2,
        {"l_x": p.F + E / 2, "l_y": p.b + E / 2, "l_z": z},
        {},
        {},
        {"x": E / 2 + z, "y": E / 2 + z},
    )


def _autarky_z_form(p: Point, g: Array):
    # max Z^a e_x y  s.t. Z + e_x + y = E  ->  Cobb-Douglas shares a/(2+a), 1/(2+a), 1/(2+a)
    E = 1 - p.F - 2 * p.b
    ok, why = _exists_labour(E)
    return g * _log(g * p.z_scale) + (2 + g) * _log(E / (2 + g)), {}, ok, why


def _autarky_z_plan(p: Point, g: Array, prices):
    E = 1 - p.F - 2 * p.b
    Z, ex = g * E / (2 + g), E / (2 + g)
    return Plan(
        (p.z_scale * Z) ** g * ex * ex,
        {"l_x": p.F + ex, "l_y": p.b + ex, "l_z": p.b + Z},
        {},
        {},
        {"x": (p.z_scale * Z) ** g * ex, "y": ex},
    )


def _sell_x_buy_y_form(p: Point, g: Array):
    # u = x * k_y y^d with p_x x + p_y y^d = p_x X  ->  u = k_y (p_x/p_y) X^2 / 4
    E = 1 - p.F
    ok, why = _exists_labour(E)
    return _log(p.ky) + 2 * _log(E / 2), {"x": 1.0, "y": -1.0}, ok, why


def _sell_x_buy_y_plan(p: Point, g: Array, prices):
    E = 1 - p.F
    z = _zeros(p)
    dy = prices["x"] * E / (2 * prices["y"])
    return Plan(
        E / 2 * p.ky * dy,
        {"l_x": 1 + z, "l_y": z, "l_z": z},
        {"x": E / 2 + z},
        {"y": dy},
        {"x": E / 2 + z, "y": p.ky * dy},
    )


def _sell_y_buy_x_form(p: Point, g: Array):
    E = 1 - p.b
    ok, why = _exists_labour(E)
    return _log(p.kx) + 2 * _log(E / 2), {"y": 1.0, "x": -1.0}, ok, why


def _sell_y_buy_x_plan(p: Point, g: Array, prices):
    E = 1 - p.b
    z = _zeros(p)
    dx = prices["y"] * E / (2 * prices["x"])
    return Plan(
        E / 2 * p.kx * dx,
        {"l_x": z, "l_y": 1 + z, "l_z": z},
        {"y": E / 2 + z},
        {"x": dx},
        {"x": p.kx * dx, "y": E / 2 + z},
    )


def _xz_self_sell_x_output(p: Point, g: Array):
    # max z^a e_x s.t. z + e_x = E -> z = aE/(1+a), e_x = E/(1+a)
    E = 1 - p.F - p.b
    return E, g * E / (1 + g), E / (1 + g)


def _sell_x_selfz_buy_y_form(p: Point, g: Array):
    E, Z, ex = _xz_self_sell_x_output(p, g)
    ok, why = _exists_labour(E)
    log_x = g * _log(p.z_scale * Z) + _log(ex)
    return _log(p.ky) + 2 * (log_x - np.log(2)), {"x": 1.0, "y": -1.0}, ok, why


def _sell_x_selfz_buy_y_plan(p: Point, g: Array, prices):
    E, Z, ex = _xz_self_sell_x_output(p, g)
    X = (p.z_scale * Z) ** g * ex
    dy = prices["x"] * X / (2 * prices["y"])
    return Plan(
        X / 2 * p.ky * dy,
        {"l_x": p.F + ex, "l_y": _zeros(p), "l_z": p.b + Z},
        {"x": X / 2},
        {"y": dy},
        {"x": X / 2, "y": p.ky * dy},
    )


def _bought_z_output(p: Point, g: Array, ex: Array, price_ratio: Array) -> tuple[Array, Array]:
    """``x^p`` and ``z^d`` of a person who sells x and buys z, at ``price_ratio = p_x / p_z``.

    ``max_{z^d} x^p - (p_z/p_x) z^d`` with ``x^p = (k_z z^d)^g e_x`` (needs ``0 < g < 1``):
    ``z^d = (g k_z^g e_x p_x/p_z)^{1/(1-g)}`` and ``x^p = g^{ga} k_z^{ga} e_x^a (p_x/p_z)^{ga}``
    with ``a = 1/(1-g)``; the intermediate bill is ``g x^p`` (in units of x).
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = 1 / (1 - g)
        kz = p.kz * p.z_scale
        dz = (g * kz**g * ex * price_ratio) ** a
        xp = (kz * dz) ** g * ex
    return xp, dz


def _log_bought_z_output(p: Point, g: Array, ex: Array) -> tuple[Array, Array]:
    """``log`` of the price-free factor of ``x^p`` and its exponent on ``p_x/p_z``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = 1 / (1 - g)
        return g * a * (_log(g) + _log(p.kz * p.z_scale)) + a * _log(ex), g * a


def _gamma_lt_one(g: Array) -> tuple[Array, str]:
    return (g > 0) & (g < 1), (
        "needs 0 < exponent < 1: a seller of x who buys z would buy unboundedly much z "
        "(exponent >= 1) or gain nothing from it (exponent <= 0)"
    )


def _sell_x_make_y_buy_z_form(p: Point, g: Array):
    # u = (1-g) x^p * y with e_x = E/(2-g), y = (1-g) E/(2-g)
    E = 1 - p.F - p.b
    ok1, why1 = _exists_labour(E)
    ok2, why2 = _gamma_lt_one(g)
    with np.errstate(divide="ignore", invalid="ignore"):
        ex = E / (2 - g)
        log_x, power = _log_bought_z_output(p, g, ex)
        log_coef = _log(1 - g) + log_x + _log((1 - g) * ex)
    ok = ok1 & ok2
    return log_coef, {"x": power, "z": -power}, ok, why1 if not np.all(ok1) else why2


def _sell_x_make_y_buy_z_plan(p: Point, g: Array, prices):
    E = 1 - p.F - p.b
    ex = E / (2 - g)
    y = (1 - g) * ex
    xp, dz = _bought_z_output(p, g, ex, prices["x"] / prices["z"])
    return Plan(
        (1 - g) * xp * y,
        {"l_x": p.F + ex, "l_y": p.b + y, "l_z": _zeros(p)},
        {"x": g * xp},
        {"z": dz},
        {"x": (1 - g) * xp, "y": y},
    )


def _sell_z_make_y_buy_x_form(p: Point, g: Array):
    E = 1 - 2 * p.b
    ok, why = _exists_labour(E)
    return _log(p.kx) + 2 * _log(E / 2), {"z": 1.0, "x": -1.0}, ok, why


def _sell_z_make_y_buy_x_plan(p: Point, g: Array, prices):
    E = 1 - 2 * p.b
    dx = prices["z"] * E / (2 * prices["x"])
    return Plan(
        p.kx * dx * E / 2,
        {"l_x": _zeros(p), "l_y": p.b + E / 2, "l_z": p.b + E / 2},
        {"z": E / 2},
        {"x": dx},
        {"x": p.kx * dx, "y": E / 2},
    )


def _sell_x_buy_yz_form(p: Point, g: Array):
    # u = k_y (p_x/p_y) ((1-g) x^p)^2 / 4 with e_x = E = 1 - F
    E = 1 - p.F
    ok1, why1 = _exists_labour(E)
    ok2, why2 = _gamma_lt_one(g)
    log_x, power = _log_bought_z_output(p, g, E)
    log_coef = _log(p.ky) + 2 * (_log(1 - g) + log_x - np.log(2))
    ok = ok1 & ok2
    return (
        log_coef,
        {"x": 1 + 2 * power, "y": -1.0 + 0 * power, "z": -2 * power},
        ok,
        why1 if not np.all(ok1) else why2,
    )


def _sell_x_buy_yz_plan(p: Point, g: Array, prices):
    E = 1 - p.F
    xp, dz = _bought_z_output(p, g, E + 0 * g, prices["x"] / prices["z"])
    income = (1 - g) * xp  # value added, in units of x
    dy = prices["x"] * income / (2 * prices["y"])
    return Plan(
        income / 2 * p.ky * dy,
        {"l_x": 1 + _zeros(p), "l_y": _zeros(p), "l_z": _zeros(p)},
        {"x": xp - income / 2},
        {"y": dy, "z": dz},
        {"x": income / 2, "y": p.ky * dy},
    )


def _sell_z_buy_xy_form(p: Point, g: Array):
    E = 1 - p.b
    ok, why = _exists_labour(E)
    return (
        _log(p.kx) + _log(p.ky) + 2 * _log(E / 2),
        {"z": 2.0, "x": -1.0, "y": -1.0},
        ok,
        why,
    )


def _sell_z_buy_xy_plan(p: Point, g: Array, prices):
    E = 1 - p.b
    dx = prices["z"] * E / (2 * prices["x"])
    dy = prices["z"] * E / (2 * prices["y"])
    z = _zeros(p)
    return Plan(
        p.kx * dx * p.ky * dy,
        {"l_x": z, "l_y": z, "l_z": 1 + z},
        {"z": E + z},
        {"x": dx, "y": dy},
        {"x": p.kx * dx, "y": p.ky * dy},
    )


def _sell_y_make_x_buy_z_form(p: Point, g: Array):
    # u = (k_z z^d)^g e_x (e_y - w), w = p_z z^d / p_y: shares g/(2+g), 1/(2+g), 1/(2+g) of E
    E = 1 - p.F - p.b
    ok1, why1 = _exists_labour(E)
    ok2 = g > 0
    why2 = "needs exponent > 0: bought z must raise x output"
    with np.errstate(divide="ignore", invalid="ignore"):
        w, ex = g * E / (2 + g), E / (2 + g)
        log_coef = g * (_log(p.kz * p.z_scale) + _log(w)) + 2 * _log(ex)
    ok = ok1 & ok2
    return log_coef, {"y": g, "z": -g}, ok, why1 if not np.all(ok1) else why2


def _sell_y_make_x_buy_z_plan(p: Point, g: Array, prices):
    E = 1 - p.F - p.b
    w, ex = g * E / (2 + g), E / (2 + g)
    dz = prices["y"] * w / prices["z"]
    x = (p.kz * p.z_scale * dz) ** g * ex
    return Plan(
        x * ex,
        {"l_x": p.F + ex, "l_y": p.b + ex + w, "l_z": _zeros(p)},
        {"y": w},
        {"z": dz},
        {"x": x, "y": ex},
    )


def _sell_z_make_x_plain_buy_y_form(p: Point, g: Array):
    E = 1 - p.F - p.b
    ok, why = _exists_labour(E)
    return _log(p.ky) + 2 * _log(E / 2), {"z": 1.0, "y": -1.0}, ok, why


def _sell_z_make_x_plain_buy_y_plan(p: Point, g: Array, prices):
    E = 1 - p.F - p.b
    dy = prices["z"] * E / (2 * prices["y"])
    return Plan(
        E / 2 * p.ky * dy,
        {"l_x": p.F + E / 2, "l_y": _zeros(p), "l_z": p.b + E / 2},
        {"z": E / 2},
        {"y": dy},
        {"x": E / 2, "y": p.ky * dy},
    )


def _sell_z_make_x_selfz_buy_y_form(p: Point, g: Array):
    # u = Z^g e_x k_y (p_z/p_y) q_z, Z + e_x + q_z = E: shares g/(2+g), 1/(2+g), 1/(2+g)
    E = 1 - p.F - p.b
    ok, why = _exists_labour(E)
    log_coef = g * _log(p.z_scale * g * E / (2 + g)) + 2 * _log(E / (2 + g)) + _log(p.ky)
    return log_coef, {"z": 1.0, "y": -1.0}, ok, why


def _sell_z_make_x_selfz_buy_y_plan(p: Point, g: Array, prices):
    E = 1 - p.F - p.b
    Z, ex = g * E / (2 + g), E / (2 + g)
    dy = prices["z"] * ex / prices["y"]
    return Plan(
        (p.z_scale * Z) ** g * ex * p.ky * dy,
        {"l_x": p.F + ex, "l_y": _zeros(p), "l_z": p.b + Z + ex},
        {"z": ex},
        {"y": dy},
        {"x": (p.z_scale * Z) ** g * ex, "y": p.ky * dy},
    )


def _config(name, sells, buys, produces, z_use, tech, description, form, plan):
    return Configuration(
        name, sells, tuple(buys), tuple(produces), z_use, tech, description, form, plan
    )


#: Every configuration compatible with Lemma 1 (sell at most one good; never buy and sell, or buy
#: and self-provide, the same good; z is only worth having as an input to x), with the technology
#: variants for x producers who buy z. Notation ``(produced-for-self+sold / bought)``, Yang style;
#: ``[a]`` roundabout technology alpha, ``[c]`` cluster technology beta.
CONFIGURATIONS: dict[str, Configuration] = {
    c.name: c
    for c in [
        _config("A", None, (), "xy", "none", "none", "autarky, x made without z",
                _autarky_plain_form, _autarky_plain_plan),
        _config("B", None, (), "xyz", "self", "alpha", "autarky, x made with self-provided z",
                _autarky_z_form, _autarky_z_plan),
        _config("(x/y)", "x", "y", "x", "none", "none", "sells x made without z, buys y",
                _sell_x_buy_y_form, _sell_x_buy_y_plan),
        _config("(y/x)", "y", "x", "y", "none", "none", "sells y, buys x",
                _sell_y_buy_x_form, _sell_y_buy_x_plan),
        _config("(xz/y)", "x", "y", "xz", "self", "alpha",
                "sells x made with self-provided z, buys y",
                _sell_x_selfz_buy_y_form, _sell_x_selfz_buy_y_plan),
        _config("(xy/z)[a]", "x", "z", "xy", "bought", "alpha",
                "sells x, self-provides y, buys z (roundabout technology)",
                _sell_x_make_y_buy_z_form, _sell_x_make_y_buy_z_plan),
        _config("(xy/z)[c]", "x", "z", "xy", "bought", "beta",
                "sells x, self-provides y, buys z (cluster technology)",
                _sell_x_make_y_buy_z_form, _sell_x_make_y_buy_z_plan),
        _config("(zy/x)", "z", "x", "yz", "none", "none", "sells z, self-provides y, buys x",
                _sell_z_make_y_buy_x_form, _sell_z_make_y_buy_x_plan),
        _config("(x/yz)[a]", "x", "yz", "x", "bought", "alpha",
                "sells x, buys y and z (roundabout technology)",
                _sell_x_buy_yz_form, _sell_x_buy_yz_plan),
        _config("(x/yz)[c]", "x", "yz", "x", "bought", "beta",
                "sells x, buys y and z (cluster technology)",
                _sell_x_buy_yz_form, _sell_x_buy_yz_plan),
        _config("(z/xy)", "z", "xy", "z", "none", "none", "sells z, buys x and y",
                _sell_z_buy_xy_form, _sell_z_buy_xy_plan),
        _config("(yx/z)[a]", "y", "z", "xy", "bought", "alpha",
                "sells y, self-provides x made with bought z (roundabout technology)",
                _sell_y_make_x_buy_z_form, _sell_y_make_x_buy_z_plan),
        _config("(yx/z)[c]", "y", "z", "xy", "bought", "beta",
                "sells y, self-provides x made with bought z (cluster technology)",
                _sell_y_make_x_buy_z_form, _sell_y_make_x_buy_z_plan),
        _config("(zx/y)", "z", "y", "xz", "none", "none",
                "sells z, self-provides x made without z, buys y",
                _sell_z_make_x_plain_buy_y_form, _sell_z_make_x_plain_buy_y_plan),
        _config("(zxz/y)", "z", "y", "xz", "self", "alpha",
                "sells z, self-provides z and x made with it, buys y",
                _sell_z_make_x_selfz_buy_y_form, _sell_z_make_x_selfz_buy_y_plan),
    ]
}  # fmt: skip
