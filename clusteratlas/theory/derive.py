"""Symbolic derivation (sympy) of every configuration's optimum and the paper's corner equilibria.

The derivation starts from the primitives only (eqs. 1a-1d): for each configuration it writes
utility as a function of the free decision variables (labour split over the effective
endowment, purchases, self-used z; the sale follows from the budget), solves the first-order
conditions, and returns the indirect utility ``V_c(p)``. For a structure it then solves
utility equalisation for relative prices and market clearing for relative numbers.

The output is checked numerically against the fast closed forms of
:mod:`clusteratlas.theory.configs` and :mod:`clusteratlas.theory.model` in the tests and by
``clusteratlas theory audit``. Run ``python -m clusteratlas.theory.derive`` to print the
derived formulas (LaTeX-ready with ``--latex``).
"""

from __future__ import annotations

import sys
from functools import cache

import sympy as sp

from clusteratlas.theory.configs import CONFIGURATIONS
from clusteratlas.theory.structures import ALL_STRUCTURES

px, py, pz = sp.symbols("p_x p_y p_z", positive=True)
kx, ky, kz = sp.symbols("k_x k_y k_z", positive=True)
F, b, alpha, beta, s = sp.symbols("F b alpha beta s", positive=True)
PRICE = {"x": px, "y": py, "z": pz}
TRADE_K = {"x": kx, "y": ky, "z": kz}
FIXED = {"x": F, "y": b, "z": b}
E_SYM = sp.Symbol("E", positive=True)
TECH = {"none": sp.Integer(0), "alpha": alpha, "beta": beta}


def _problem(name: str):
    """Utility of configuration ``name`` in its free variables, and those variables."""
    config = CONFIGURATIONS[name]
    produced = list(config.produces)
    # l_g = fixed cost + effective labour e_g, so sum_g e_g = 1 - sum of fixed costs =: E > 0.
    # E is kept as a positive symbol (substituted at the end) so sympy can simplify powers.
    effective = E_SYM
    free: list[sp.Symbol] = []
    e = {}
    for g in produced[:-1]:
        e[g] = sp.Symbol(f"e_{g}", positive=True)
        free.append(e[g])
    if produced:
        e[produced[-1]] = effective - sum(e[g] for g in produced[:-1])
    buys = {}
    for g in config.buys:
        buys[g] = sp.Symbol(f"d_{g}", positive=True)
        free.append(buys[g])
    sold = sum(PRICE[g] * d for g, d in buys.items()) / PRICE[config.sells] if config.sells else 0
    output = {g: e[g] for g in produced if g != "x"}
    z_for_x = sp.Integer(0)
    if config.z_use == "self":
        if config.sells == "z":
            z_for_x = sp.Symbol("z_self", positive=True)
            free.append(z_for_x)
        else:
            z_for_x = output["z"]
    elif config.z_use == "bought":
        z_for_x = kz * buys["z"]
    gamma = TECH[config.tech]
    if "x" in produced:
        output["x"] = (s * z_for_x) ** gamma * e["x"] if gamma != 0 else e["x"]
    consumption = {}
    for g in "xy":
        if g in config.buys:
            consumption[g] = TRADE_K[g] * buys[g]
        else:
            consumption[g] = output.get(g, 0) - (sold if config.sells == g else 0)
    utility = consumption["x"] * consumption["y"]
    if config.sells == "z":
        # all z output not kept for own x is sold (free disposal never pays at a positive
        # price), so the budget pins down the last purchase
        leftover = output["z"] - (z_for_x if config.z_use == "self" else 0)
        last = buys[config.buys[-1]]
        others = sum(PRICE[g] * d for g, d in buys.items() if d is not last)
        utility = utility.subs(last, (leftover * pz - others) / PRICE[config.buys[-1]])
        free = [v for v in free if v is not last]
    return sp.simplify(utility), free, 1 - sum(FIXED[g] for g in produced)


@cache
def indirect_utility(name: str) -> sp.Expr:
    """``V_c(p)`` of configuration ``name`` derived from its first-order conditions."""
    utility, free, effective = _problem(name)
    if not free:
        return sp.simplify(utility.subs(E_SYM, effective))
    log_u = sp.expand_log(sp.log(utility), force=True)
    conditions = [sp.together(sp.diff(log_u, v)) for v in free]
    numerators = [sp.numer(c) for c in conditions]
    solutions = sp.solve(numerators, free, dict=True)
    candidates = []
    for solution in solutions:
        if all(v in solution for v in free):
            candidates.append(sp.simplify(utility.subs(solution)).subs(E_SYM, effective))
    if not candidates:
        raise RuntimeError(f"sympy found no interior optimum for {name}")
    return candidates[0]


def monomial(name: str) -> tuple[sp.Expr, dict[str, sp.Expr]]:
    """``(log A_c, {good: a_{c,g}})`` with ``V_c = A_c prod_g p_g^{a_{c,g}}``.

    The exponents are the price elasticities ``p_g dlog V / dp_g``; sympy must reduce them
    to price-free expressions, which proves the monomial form used by the fast solver.
    """
    value = indirect_utility(name)
    log_value = sp.log(value)
    exponents = {}
    for good in CONFIGURATIONS[name].trades:
        elasticity = sp.simplify(PRICE[good] * sp.diff(log_value, PRICE[good]))
        if elasticity.has(px, py, pz):
            raise RuntimeError(f"V[{name}] is not a monomial in p_{good}: {elasticity}")
        exponents[good] = elasticity
    log_coef = sp.simplify(log_value.subs({px: 1, py: 1, pz: 1}))
    return log_coef, exponents


def corner_equilibrium(structure_name: str) -> dict[str, sp.Expr]:
    """Relative prices and per-capita real income of a structure, symbolically.

    Utility equalisation ``log V_c = log V_c'`` is linear in log prices (numeraire price 1,
    as in :mod:`clusteratlas.theory.model`) and is solved exactly with ``sympy.linsolve``.
    """
    structure = ALL_STRUCTURES[structure_name]
    if not structure.traded:
        return {"u": sp.simplify(indirect_utility(structure.configurations[0]))}
    numeraire = next(g for g in ("z", "y", "x") if g in structure.traded)
    unknown = [g for g in structure.traded if g != numeraire]
    logs = {g: sp.Symbol(f"log_p_{g}") for g in unknown}
    forms = [monomial(c) for c in structure.configurations]

    def log_v(form):
        log_coef, exponents = form
        return log_coef + sum(exponents.get(g, 0) * logs[g] for g in unknown)

    equations = [log_v(forms[i]) - log_v(forms[0]) for i in range(1, len(forms))]
    (solution,) = sp.linsolve(equations, [logs[g] for g in unknown])
    values = dict(zip(unknown, solution, strict=True))
    out = {f"log p_{g}/p_{numeraire}": sp.simplify(values[g]) for g in unknown}
    out["log u"] = sp.simplify(log_v(forms[0]).subs({logs[g]: values[g] for g in unknown}))
    return out


def substitutions(values: dict[str, float]) -> dict[sp.Symbol, float]:
    """Map numeric parameter values (as in ``Params.as_dict()``) onto the symbols."""
    return {
        F: values["F"], b: values["b"], alpha: values["alpha"], beta: values["beta"],
        kx: values["k_x"], ky: values["k_y"], kz: values["k_z"], s: values.get("z_scale", 1.0),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    show = sp.latex if "--latex" in argv else str
    for name in CONFIGURATIONS:
        print(f"V[{name}] = {show(indirect_utility(name))}")
    for name in ("A", "B", "P_A", "P_B", "P_C", "CC_A", "CC_B"):
        for key, expr in corner_equilibrium(name).items():
            print(f"{name}: {key} = {show(expr)}")
    print("(E is the configuration's effective labour 1 - its fixed costs; s is z_scale)")


if __name__ == "__main__":
    main()
