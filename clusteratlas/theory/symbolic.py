"""Closed forms of the seven paper structures as simplified sympy expressions (log-monomials).

This module owns the *symbolic, simplified* corner equilibria (the corrected Table 1) and the
algebra used to derive regime boundaries and comparative statics from them. Every quantity
of the model is a monomial in positive "atoms" (``1-F-b``, ``1-b``, ``alpha``, ``1-alpha``,
``k_x``, prices, ...), so it is held as a :class:`LogMonomial`,
``log q = sum_i c_i log a_i``: products and quotients are sums of coefficients, utility
equalisation is a linear system in log prices (``sympy.linsolve``), and the result is
simplified by construction (one power per atom, each exponent ``sympy.factor``-ed).

Chain of checks: each configuration's indirect utility below is the one derived from the
primitives in :mod:`clusteratlas.theory.derive` (sympy first-order conditions), which the
tests compare with the vectorised closed forms of :mod:`clusteratlas.theory.configs`; the
tests compare the structure-level results here with the generic solver
(:mod:`clusteratlas.theory.model`) and the fast path (:mod:`clusteratlas.theory.fast`).

Configuration indirect utilities (``g`` = technology exponent, ``s`` = z_scale,
``E_1 = 1-F-b``, ``E_2 = 1-F-2b``, ``x^p`` the output of an x seller who buys z,
``x^p = (g s k_z)^(g/(1-g)) e_x^(1/(1-g)) (p_x/p_z)^(g/(1-g))``):

* A ``E_1^2/4``; B ``(alpha s)^alpha (E_2/(2+alpha))^(2+alpha)``;
* (x/y) ``k_y (p_x/p_y)(1-F)^2/4``; (y/x) ``k_x (p_y/p_x)(1-b)^2/4``;
* (xz/y) ``k_y (p_x/p_y) X^2/4``, ``X = (alpha s)^alpha E_1^(1+alpha)/(1+alpha)^(1+alpha)``;
* (xy/z) ``(1-g)^2 x^p e_x``, ``e_x = E_1/(2-g)``; (zy/x) ``k_x (p_z/p_x)(1-2b)^2/4``;
* (x/yz) ``k_y (p_x/p_y) ((1-g) x^p/2)^2``, ``e_x = 1-F``; (z/xy) ``k_x k_y p_z^2 (1-b)^2/(4 p_x p_y)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from clusteratlas.theory.derive import F, alpha, b, beta, kx, ky, kz, px, py, pz, s
from clusteratlas.theory.structures import PAPER_STRUCTURES

PRICES = {"x": px, "y": py, "z": pz}
K, t, e, theta = sp.symbols("K t e theta", positive=True)
K_G = {g: sp.Symbol(f"K_{g}", positive=True) for g in "xyz"}
T_G = {g: sp.Symbol(f"t_{g}", positive=True) for g in "xyz"}
k = sp.Symbol("k", positive=True)  # a common trading efficiency (1-t) K, for the printed forms

#: Params field name -> sympy symbol (the symbols the closed forms are written in).
SYMBOLS: dict[str, sp.Symbol] = {
    "K": K, "t": t, "alpha": alpha, "b": b, "F": F, "e": e, "theta": theta, "z_scale": s,
    "beta": beta, "k_x": kx, "k_y": ky, "k_z": kz,
    **{f"K_{g}": K_G[g] for g in "xyz"}, **{f"t_{g}": T_G[g] for g in "xyz"},
}  # fmt: skip
NAME_OF = {symbol: name for name, symbol in SYMBOLS.items()}


# ---------------------------------------------------------------------------------------------
# Log-monomials
# ---------------------------------------------------------------------------------------------


def _factor_common_power(add: sp.Add) -> sp.Expr | None:
    """``c_1 a^e_1 + c_2 a^e_2 + ...`` -> ``a^e_1 (c_1 + c_2 a^(e_2-e_1) + ...)``, else None.

    This is the identity the printed Table 1 needs: ``g^(g/(1-g)) - g^(1/(1-g)) =
    g^(g/(1-g)) (1-g)``.
    """
    parts = []
    for term in add.args:
        coeff, rest = term.as_coeff_Mul()
        if rest.is_Pow:
            parts.append((coeff, rest.base, rest.exp))
        elif rest.is_Symbol:
            parts.append((coeff, rest, sp.Integer(1)))
        else:
            return None
    bases = {base for _, base, _ in parts}
    if len(bases) != 1:
        return None
    (base,) = bases
    first = min((exp for _, _, exp in parts), key=lambda exp: float(exp.subs(_typical(exp))))
    inner = sp.Add(*[c * base ** sp.simplify(exp - first) for c, _, exp in parts])
    return base**first * inner


@cache
def _canonical(coeff: sp.Expr) -> sp.Expr:
    """Exponents in canonical form (so that zero is recognised), cached: the algebra repeats."""
    return coeff if coeff.is_Rational else sp.cancel(coeff)


class LogMonomial:
    """``prod_i a_i^c_i`` over positive atoms ``a_i``, held as ``{a_i: c_i}``.

    Atoms are sympy expressions that are positive wherever the quantity exists (symbols such
    as ``k_x``, differences such as ``1 - F - b``, primes). Exponents may depend on
    parameters (``alpha``). Build one from an expression with :meth:`of`.
    """

    __slots__ = ("terms",)

    def __init__(self, terms: Mapping[sp.Expr, sp.Expr] | None = None) -> None:
        clean = {}
        for atom, coeff in (terms or {}).items():
            coeff = _canonical(sp.sympify(coeff))
            if coeff != 0:
                clean[atom] = coeff
        self.terms: dict[sp.Expr, sp.Expr] = clean

    @classmethod
    def of(cls, expr) -> LogMonomial:
        """Split a product of powers of positive atoms (numbers are split into primes)."""
        expr = sp.sympify(expr)
        if expr.is_Rational:
            if expr <= 0:
                raise ValueError(f"{expr} is not positive")
            terms: dict[sp.Expr, sp.Expr] = {}
            for prime, power in sp.factorint(expr.p).items():
                terms[sp.Integer(prime)] = terms.get(sp.Integer(prime), 0) + power
            for prime, power in sp.factorint(expr.q).items():
                terms[sp.Integer(prime)] = terms.get(sp.Integer(prime), 0) - power
            return cls(terms)
        if expr.is_Mul:
            out = cls()
            for factor in expr.args:
                out = out * cls.of(factor)
            return out
        if expr.is_Pow:
            return cls.of(expr.base) ** expr.exp
        if expr.is_Add:
            content, primitive = expr.as_content_primitive()
            if content != 1:
                return cls.of(content) * cls.of(primitive)
            factored = _factor_common_power(expr)
            if factored is not None and not factored.is_Add:
                return cls.of(factored)
            if expr.as_coeff_Add()[0] < 0:
                raise ValueError(f"atom {expr} must be written as a positive quantity")
            return cls({expr: 1})
        if expr.is_Symbol:
            return cls({expr: 1})
        raise ValueError(f"{expr} is not a product of powers of atoms")

    def __mul__(self, other: LogMonomial) -> LogMonomial:
        terms = dict(self.terms)
        for atom, coeff in other.terms.items():
            terms[atom] = terms.get(atom, 0) + coeff
        return LogMonomial(terms)

    def __truediv__(self, other: LogMonomial) -> LogMonomial:
        return self * other**-1

    def __pow__(self, power) -> LogMonomial:
        return LogMonomial({a: c * power for a, c in self.terms.items()})

    def __eq__(self, other) -> bool:
        return isinstance(other, LogMonomial) and (self / other).terms == {}

    def __hash__(self) -> int:  # pragma: no cover - not used as a key
        return hash(tuple(sorted(map(str, self.terms))))

    def __repr__(self) -> str:
        return f"LogMonomial({self.text()})"

    def log(self) -> sp.Expr:
        """``sum_i c_i log a_i``."""
        return sp.Add(*[c * sp.log(a) for a, c in self.terms.items()])

    def expr(self) -> sp.Expr:
        """``prod_i a_i^c_i`` as one sympy expression."""
        return sp.Mul(*[a**c for a, c in self.terms.items()])

    def subs(self, mapping: Mapping[sp.Symbol, sp.Expr]) -> LogMonomial:
        """Substitute symbols (in atoms and exponents), re-splitting atoms into atoms."""
        out = LogMonomial()
        for atom, coeff in self.terms.items():
            out = out * LogMonomial.of(sp.sympify(atom).subs(mapping)) ** sp.sympify(coeff).subs(
                mapping
            )
        return out

    def compose(self, mapping: Mapping[sp.Expr, LogMonomial]) -> LogMonomial:
        """Replace atoms by log-monomials (e.g. prices by their equilibrium values)."""
        out = LogMonomial()
        for atom, coeff in self.terms.items():
            part = mapping[atom] if atom in mapping else LogMonomial({atom: 1})
            out = out * part**coeff
        return out

    def without(self, atoms: Iterable[sp.Expr]) -> LogMonomial:
        drop = set(atoms)
        return LogMonomial({a: c for a, c in self.terms.items() if a not in drop})

    @property
    def free_symbols(self) -> set[sp.Symbol]:
        out: set[sp.Symbol] = set()
        for atom, coeff in self.terms.items():
            out |= sp.sympify(atom).free_symbols | sp.sympify(coeff).free_symbols
        return out

    def text(self, latex: bool = False) -> str:
        """Readable fraction: atoms with positive exponents over those with negative ones."""
        top, bottom = [], []
        numeric = sp.Integer(1)
        for atom, coeff in sorted(self.terms.items(), key=lambda item: _atom_order(item[0])):
            if atom.is_Integer and coeff.is_Integer:
                numeric *= atom**coeff
                continue
            coeff = tidy(coeff)
            negative = _looks_negative(coeff)
            power = tidy(-coeff) if negative else coeff
            (bottom if negative else top).append(_power_text(atom, power, latex))
        if numeric != 1:
            if numeric.p != 1:
                top.insert(0, str(numeric.p))
            if numeric.q != 1:
                bottom.insert(0, str(numeric.q))
        join = " " if latex else " * "
        upper = join.join(top) or "1"
        if not bottom:
            return upper
        lower = join.join(bottom)
        if latex:
            return rf"\frac{{{upper}}}{{{lower}}}"
        return f"{upper} / ({lower})" if len(bottom) > 1 else f"{upper} / {lower}"

    def numeric(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """``log q`` evaluated with numpy at Params-named values (NaN where an atom <= 0)."""
        return evaluate(self.log(), values)


def _typical(value: sp.Expr) -> dict[sp.Symbol, sp.Expr]:
    """A point inside every domain (``alpha, beta, e, b, F, k`` = 0.3, ``theta`` = 0.2)."""
    point = {symbol: sp.Rational(3, 10) for symbol in value.free_symbols}
    if theta in point:  # keep beta = alpha + e - theta inside (0, 1)
        point[theta] = sp.Rational(1, 5)
    return point


def _looks_negative(value: sp.Expr) -> bool:
    """Sign of an exponent at a typical admissible point (for display only)."""
    return bool(value.subs(_typical(value)) < 0)


def _positive_factors(value: sp.Expr) -> tuple[int, sp.Expr]:
    """``value = sign * product``, each factor expanded and positive-looking (``1 - F - b``)."""
    coeff, factors = sp.factor_list(value)
    sign, parts = (1 if coeff >= 0 else -1), []
    for factor, power in factors:
        factor = sp.expand(factor)
        if factor.free_symbols and _looks_negative(factor):
            factor = sp.expand(-factor)
            sign *= (-1) ** power
        parts.append(factor**power)
    return sign, sp.Mul(abs(coeff), *parts)


@cache
def tidy(value: sp.Expr) -> sp.Expr:
    """A rational expression as ``numerator / denominator`` with positive-looking factors."""
    value = sp.cancel(sp.sympify(value))
    if value.has(sp.log) or not value.free_symbols:
        return value
    numerator, denominator = sp.fraction(value)
    top_sign, numerator = _positive_factors(numerator)
    bottom_sign, denominator = _positive_factors(denominator)
    if numerator.is_Add:
        content, primitive = numerator.as_content_primitive()
        if content != 1 and content.is_Rational:
            numerator = sp.Mul(content, primitive, evaluate=False)
    out = numerator / denominator if denominator != 1 else numerator
    return out if top_sign * bottom_sign > 0 else -out


def _atom_order(atom: sp.Expr) -> tuple[int, str]:
    if atom.is_Integer:
        return (0, str(atom))
    if atom in PRICES.values():
        return (1, str(atom))
    if atom.is_Symbol:
        return (2, str(atom))
    return (3, str(atom))


def _power_text(atom: sp.Expr, power: sp.Expr, latex: bool) -> str:
    show = (lambda x: sp.latex(x, order="none")) if latex else (lambda x: sp.sstr(x, order="none"))
    base = show(atom)
    if not (atom.is_Symbol or atom.is_Integer or atom == sp.E):
        base = rf"\left({base}\right)" if latex else f"({base})"
    if power == 1:
        return base
    exponent = show(power)
    if latex:
        return f"{base}^{{{exponent}}}"
    simple = power.is_Integer or power.is_Symbol
    return f"{base}^{exponent}" if simple else f"{base}^({exponent})"


def show(expr: sp.Expr, latex: bool = False) -> str:
    """A sympy expression as text (terms in written order, ``1 - F - b``) or LaTeX."""
    return sp.latex(expr, order="none") if latex else sp.sstr(expr, order="none")


@cache
def _lambdified(expr: sp.Expr):
    names = sorted(NAME_OF[x] for x in expr.free_symbols)
    return names, sp.lambdify([SYMBOLS[n] for n in names], expr, "numpy")


def evaluate(expr: sp.Expr, values: Mapping[str, np.ndarray]) -> np.ndarray:
    """Evaluate an expression in the model's symbols at Params-named numpy values."""
    names, function = _lambdified(sp.sympify(expr))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = function(*[np.asarray(values[n], dtype=float) for n in names])
    return np.asarray(out, dtype=float)


def values_of(params) -> dict[str, np.ndarray]:
    """Params -> {symbol name: array} including beta and the trading efficiencies k_g."""
    out = {name: params.value(name) for name in params.NAMES}
    out["beta"] = params.beta
    for good in "xyz":
        out[f"k_{good}"] = params.k(good)
    return out


# ---------------------------------------------------------------------------------------------
# Configurations and corner equilibria of the paper's structures
# ---------------------------------------------------------------------------------------------

E1, E2 = 1 - F - b, 1 - F - 2 * b
TECH = {"[a]": alpha, "[c]": beta}


def _bought_z_output(g: sp.Expr, effective: sp.Expr) -> sp.Expr:
    """``x^p`` of an x seller who buys z, at the optimum, as a function of ``p_x/p_z``."""
    return (g * s * kz) ** (g / (1 - g)) * effective ** (1 / (1 - g)) * (px / pz) ** (g / (1 - g))


def _configuration(name: str) -> tuple[sp.Expr, dict[str, sp.Expr], dict[str, sp.Expr]]:
    """``(V_c, sells, buys)`` of a configuration used by the paper's structures."""
    g = TECH.get(name[-3:], sp.Integer(0))
    base = name[:-3] if name[-3:] in TECH else name
    if base == "A":
        return E1**2 / 4, {}, {}
    if base == "B":
        return (alpha * s) ** alpha * (E2 / (2 + alpha)) ** (2 + alpha), {}, {}
    if base == "(x/y)":
        return ky * px / py * (1 - F) ** 2 / 4, {"x": (1 - F) / 2}, {"y": px * (1 - F) / (2 * py)}
    if base == "(y/x)":
        return kx * py / px * (1 - b) ** 2 / 4, {"y": (1 - b) / 2}, {"x": py * (1 - b) / (2 * px)}
    if base == "(xz/y)":
        X = (alpha * s) ** alpha * E1 ** (1 + alpha) / (1 + alpha) ** (1 + alpha)
        return ky * px / py * X**2 / 4, {"x": X / 2}, {"y": px * X / (2 * py)}
    if base == "(xy/z)":
        ex = E1 / (2 - g)
        xp = _bought_z_output(g, ex)
        # the z bill is the share g of the value of x output: p_z z^d = g p_x x^p
        return (1 - g) ** 2 * xp * ex, {"x": g * xp}, {"z": g * px / pz * xp}
    if base == "(zy/x)":
        E = 1 - 2 * b
        return kx * pz / px * E**2 / 4, {"z": E / 2}, {"x": pz * E / (2 * px)}
    if base == "(x/yz)":
        xp = _bought_z_output(g, 1 - F)
        income = (1 - g) * xp  # value added in units of x; half is eaten, half buys y
        return (
            ky * px / py * income**2 / 4,
            {"x": (1 + g) * xp / 2},
            {"y": px * income / (2 * py), "z": g * px / pz * xp},
        )
    if base == "(z/xy)":
        return (
            kx * ky * pz**2 * (1 - b) ** 2 / (4 * px * py),
            {"z": 1 - b},
            {"x": pz * (1 - b) / (2 * px), "y": pz * (1 - b) / (2 * py)},
        )
    raise KeyError(name)


@cache
def configuration(name: str) -> tuple[LogMonomial, dict[str, LogMonomial], dict[str, LogMonomial]]:
    """Indirect utility, sales and purchases of a configuration as log-monomials in prices."""
    utility, sells, buys = _configuration(name)
    return (
        LogMonomial.of(utility),
        {g: LogMonomial.of(v) for g, v in sells.items()},
        {g: LogMonomial.of(v) for g, v in buys.items()},
    )


@dataclass(frozen=True)
class SymbolicCorner:
    """Corner equilibrium of one paper structure in closed form (general ``k_x, k_y, k_z, s``)."""

    structure: str
    utility: LogMonomial
    prices: dict[str, LogMonomial]  # "p_x/p_z" -> log-monomial
    numbers: dict[str, LogMonomial]  # "M_x/M_z" -> log-monomial


@cache
def corner(structure: str) -> SymbolicCorner:
    """Solve utility equalisation (linear in log prices) and market clearing symbolically."""
    spec = PAPER_STRUCTURES[structure]
    configs = spec.configurations
    if not spec.traded:
        return SymbolicCorner(structure, configuration(configs[0])[0], {}, {})
    numeraire = next(g for g in ("z", "y", "x") if g in spec.traded)
    unknown = [g for g in spec.traded if g != numeraire]
    log_price = {g: sp.Symbol(f"log_p_{g}") for g in unknown}
    price_atoms = set(PRICES.values())
    utilities = [configuration(c)[0] for c in configs]
    atoms = sorted({a for u in utilities for a in u.terms if a not in price_atoms}, key=_atom_order)
    atom_log = {a: sp.Symbol(f"L{i}") for i, a in enumerate(atoms)}

    def linear(u: LogMonomial) -> sp.Expr:
        out = sp.Integer(0)
        for atom, coeff in u.terms.items():
            if atom == PRICES[numeraire]:
                continue
            good = next((g for g, p in PRICES.items() if p == atom), None)
            out += coeff * (log_price[good] if good else atom_log[atom])
        return out

    equations = [linear(u) - linear(utilities[0]) for u in utilities[1:]]
    (solution,) = sp.linsolve(equations, [log_price[g] for g in unknown])
    price_lm = {PRICES[numeraire]: LogMonomial()}
    for good, value in zip(unknown, solution, strict=True):
        value = sp.expand(value)
        price_lm[PRICES[good]] = LogMonomial({a: value.coeff(atom_log[a]) for a in atoms})
    utility = utilities[0].compose(price_lm)
    ordered = sorted(spec.traded)
    prices = {
        f"p_{g}/p_{h}": price_lm[PRICES[g]] / price_lm[PRICES[h]]
        for i, g in enumerate(ordered)
        for h in ordered[i + 1 :]
    }
    return SymbolicCorner(structure, utility, prices, _relative_numbers(spec, price_lm))


def _relative_numbers(spec, price_lm) -> dict[str, LogMonomial]:
    """Market clearing ``M_seller q_sold = sum_buyers M_buyer q_bought``, solved for ratios."""
    seller = {}
    trades = {}
    for c in spec.configurations:
        _, sells, buys = configuration(c)
        trades[c] = (
            {g: v.compose(price_lm) for g, v in sells.items()},
            {g: v.compose(price_lm) for g, v in buys.items()},
        )
        seller[next(iter(sells))] = c
    if len(spec.traded) == 2:
        first, second = sorted(spec.traded)
        # market of the first good: M_first q_first = M_second (purchase of the first good)
        ratio = trades[seller[second]][1][first] / trades[seller[first]][0][first]
        return {f"M_{first}/M_{second}": ratio}
    # complete division: the z market gives M_x/M_z; the y market then gives M_y/M_z
    sx, sy, sz = seller["x"], seller["y"], seller["z"]
    x_over_z = trades[sz][0]["z"] / trades[sx][1]["z"]
    y_terms = [x_over_z * trades[sx][1]["y"], trades[sz][1]["y"]]
    ratio = sp.factor(sp.simplify((y_terms[0] / y_terms[1]).expr()))
    y_over_z = (y_terms[1] / trades[sy][0]["y"]) * LogMonomial.of(sp.factor(1 + ratio))
    return {"M_x/M_y": x_over_z / y_over_z, "M_x/M_z": x_over_z, "M_y/M_z": y_over_z}


# ---------------------------------------------------------------------------------------------
# Designs: how the trading efficiencies k_g are written (common K and t, or per good)
# ---------------------------------------------------------------------------------------------


def design_substitution(per_good: Iterable[str] = ()) -> dict[sp.Symbol, sp.Expr]:
    """``k_g -> (1 - t_g) K_g``; the ``K_g``, ``t_g`` not in ``per_good`` become common K, t.

    ``per_good`` lists Params names set per good (``"K_z"``, ``"t_y"``); ``beta`` is written
    as ``alpha + e - theta``.
    """
    chosen = set(per_good)
    out: dict[sp.Symbol, sp.Expr] = {beta: alpha + e - theta}
    for good, symbol in (("x", kx), ("y", ky), ("z", kz)):
        big = K_G[good] if f"K_{good}" in chosen else K
        small = T_G[good] if f"t_{good}" in chosen else t
        out[symbol] = (1 - small) * big
    return out


def k_common() -> sp.Expr:
    """The paper's common trading efficiency ``k = (1 - t) K`` in Params symbols."""
    return (1 - t) * K


def per_good_names(params) -> tuple[str, ...]:
    """The per-good overrides a Params sets (its design)."""
    return tuple(
        f"{p}_{g}" for p in ("K", "t") for g in "xyz" if getattr(params, f"{p}_{g}") is not None
    )


@cache
def income(structure: str, per_good: tuple[str, ...] = ()) -> LogMonomial:
    """Per-capita real income of a paper structure written in the Params' own parameters."""
    return corner(structure).utility.subs(design_substitution(per_good))


#: Domain conditions beyond positivity of the atoms, per structure (for sign proofs).
REQUIRES = {
    "A": {"E1"},
    "B": {"E1", "E2"},
    "P_A": {"E1", "alpha<1"},
    "P_B": {"E1"},
    "P_C": set(),
    "CC_A": {"beta<1"},
    "CC_B": {"alpha<1"},
}

#: Existence conditions ``expression > 0`` of each paper structure's corner equilibrium
#: (beyond the model's domain): labour left after fixed costs, interior z purchases.
EXISTS = {
    "A": (E1,),
    "B": (E2,),
    "P_A": (E1, 1 - 2 * b, 1 - alpha),
    "P_B": (E1,),
    "P_C": (),
    "CC_A": (beta, 1 - beta),
    "CC_B": (1 - alpha,),
}


def existence_limits(structure: str, parameter: str, per_good: tuple[str, ...] = ()):
    """Closed-form values of ``parameter`` where a condition of :data:`EXISTS` reaches zero."""
    symbol = SYMBOLS[parameter]
    design = design_substitution(per_good)
    out = []
    for condition in EXISTS[structure]:
        condition = sp.sympify(condition).subs(design)
        if symbol in condition.free_symbols:
            out += [(condition, root) for root in sp.solve(condition, symbol)]
    return out


# ---------------------------------------------------------------------------------------------
# Derivatives and sign proofs
# ---------------------------------------------------------------------------------------------


def log_derivative(quantity: LogMonomial, parameter: str) -> sp.Expr:
    """``d log q / d parameter`` (``quantity`` already written in the Params' parameters)."""
    return sp.diff(quantity.log(), SYMBOLS[parameter])


def _chain(raw: LogMonomial, parameter: str) -> tuple[LogMonomial, list[tuple[sp.Symbol, int]]]:
    """The raw form (k_g, beta as symbols) and ``[(symbol, sign)]`` with
    ``d/d parameter = sum sign * d/d symbol`` (``k_g = (1-t_g) K_g``, ``beta = alpha + e - theta``)."""
    if parameter in ("K", "t"):
        common = raw.subs({kx: k, ky: k, kz: k})
        return common, [(k, 1 if parameter == "K" else -1)]
    if parameter[:2] in ("K_", "t_", "k_"):
        return raw, [(SYMBOLS[f"k_{parameter[-1]}"], -1 if parameter[0] == "t" else 1)]
    if parameter == "e":
        return raw, [(beta, 1)]
    if parameter == "theta":
        return raw, [(beta, -1)]
    if parameter == "alpha":
        return raw, [(alpha, 1), (beta, 1)]
    return raw, [(SYMBOLS[parameter], 1)]


def chain_derivative(raw: LogMonomial, parameter: str) -> sp.Expr:
    """``d log q / d parameter`` written in the raw symbols (``k_g``, ``beta``): shorter to read."""
    quantity, chain = _chain(raw, parameter)
    return sp.Add(*[sign * sp.diff(quantity.log(), symbol) for symbol, sign in chain])


def _bases(requires: set[str]) -> list[dict[sp.Expr, sp.Expr]]:
    """Rewritings of the atoms in positive variables, each valid on the structures' domain.

    The first treats every atom as an independent positive number (always valid). ``E1``
    writes ``1 - F - b = E`` and the other fixed-cost atoms as ``E`` plus positive
    parameters (valid where ``1-F-b > 0``), ``E2`` likewise from ``1 - F - 2b``;
    ``alpha = 1/(1+w)`` encodes ``0 < alpha < 1`` (``beta`` likewise).
    """
    E, W, w, v = sp.symbols("E W w v", positive=True)
    fixed = [E1, E2, 1 - F, 1 - b, 1 - 2 * b]
    bases = [{}]
    if "E1" in requires:
        bases.append(dict(zip(fixed, [E, E - b, E + b, E + F, E + F - b], strict=True)))
    if "E2" in requires:
        bases.append(dict(zip(fixed, [W + b, W, W + 2 * b, W + F + b, W + F], strict=True)))
    for base in bases:
        for symbol, variable, flag in ((alpha, w, "alpha<1"), (beta, v, "beta<1")):
            if flag in requires:
                base[symbol] = 1 / (1 + variable)
    return bases


def proved_sign(raw: LogMonomial, parameter: str, requires: Iterable[str] = ()) -> int | None:
    """Sign of ``d log q / d parameter`` proved for every admissible point, or None.

    ``raw`` is written in ``k_g`` and ``beta`` (as :func:`corner` returns it); ``requires``
    are the domain conditions of the structures involved (:data:`REQUIRES`). The derivative
    is written as ``sum_i (dc_i/dp) log a_i + c_i (da_i/dp) / a_i`` with every atom replaced
    by a positive variable (or a positive combination of them, see :func:`_bases`); sympy
    then decides the sign of the resulting rational function, or cannot (None). Sound, not
    complete: None means "not proved", not "changes sign".
    """
    quantity, chain = _chain(raw, parameter)
    placeholders = {a: sp.Dummy("a", positive=True) for a in quantity.terms}
    derivative = sp.Integer(0)
    for symbol, sign in chain:
        for atom, coeff in quantity.terms.items():
            derivative += sign * sp.diff(coeff, symbol) * sp.log(placeholders[atom])
            derivative += sign * coeff * sp.diff(atom, symbol) / placeholders[atom]
    if derivative == 0:
        return 0
    requires = set(requires)
    for base in _bases(requires):
        symbols = {key: value for key, value in base.items() if key.is_Symbol}
        rewrite = {}
        for atom, placeholder in placeholders.items():
            if atom in base:
                rewrite[placeholder] = base[atom]
            elif sp.sympify(atom).free_symbols & set(symbols):
                rewrite[placeholder] = sp.sympify(atom).subs(symbols)
        value = derivative.subs(rewrite).subs(symbols)
        numerator, denominator = sp.fraction(sp.together(value))
        numerator, denominator = sp.expand(numerator), sp.expand(denominator)
        signs = [_definite(numerator), _definite(denominator)]
        if None not in signs:
            return signs[0] * signs[1]
    return None


def _definite(value: sp.Expr) -> int | None:
    if value == 0:
        return 0
    if value.is_positive:
        return 1
    if value.is_negative:
        return -1
    return None
