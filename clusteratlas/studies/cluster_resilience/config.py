"""The ``clusteratlas run`` configuration: one small TOML file, its defaults and its validation.

This module owns the config keys (:data:`KEYS`, which also feeds ``clusteratlas run --help``),
reading TOML into a :class:`RunConfig`, reading a custom cluster definition
(:func:`custom_definition`), and two validation passes that run before any work:
:func:`validate_static` (types, key names, window order) and :func:`validate_against`
(regions, years and cluster codes the data actually has). Every failure is a
:class:`~clusteratlas.errors.ParameterError` naming the key and the allowed values.

Defaults reproduce the seed study (Cho et al. 2024): state level, shock window 2018 -> 2020 and
recovery window 2020 -> 2022 as printed, plus corrected windows (2019 -> 2020 for annual BEA
GDP; CBP March employment needs 2019 -> 2021 because CBP 2020 is counted before the lockdown).
The shocks of the resilience and evidence stages are COVID-19 (the corrected windows) and the
Great Recession (``[shocks]``: peak, trough and end years for annual and for CBP March data):
:func:`shocks` returns both as :class:`Shock` objects.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from clusteratlas.data.clusters import read_definition_csv
from clusteratlas.data.shapes import MAP_REGION_TYPES
from clusteratlas.errors import ClusterAtlasError, InputError, ParameterError
from clusteratlas.panel.design import treatment_from_panel
from clusteratlas.resilience.windows import ShockWindow
from clusteratlas.schema import OUTCOME_NAMES
from clusteratlas.theory.maps import MAP_PARAMETERS, MAX_RESOLUTION

#: outcomes a run can analyse: the canonical ones plus QCEW's annual-average employment
RUN_OUTCOMES = ("gdp", "mfg_gdp", "employment", "employment_qcew", "exports", "imports")
assert set(OUTCOME_NAMES) <= set(RUN_OUTCOMES)

#: the config's names of the treatment rules (each maps onto a rule of clusteratlas.panel.design)
CONFIG_TREATMENT_RULES = ("strength_above_quantile", "any_strong", "n_strong_at_least")

#: section -> key -> (default, help text). The single source for defaults, --help and docs.
KEYS: dict[str, dict[str, tuple[Any, str]]] = {
    "study": {
        "region_type": (
            "state",
            "region level of the whole study: state, county, msa, economic_area",
        ),
        "regions": (
            [],
            "regions of interest (ids: state FIPS '01', county FIPS '01073', CBSA '13820', ...); "
            "empty = Alabama's (the seed study's focus: state 01, county 01073, CBSA 13820, its "
            "economic area) when the data have it, else the region with the most jobs",
        ),
        "peers": (
            [],
            "peer regions to compare with; empty = the tool proposes the nearest by size and traded mix",
        ),
        "n_peers": (5, "how many peers to propose when 'peers' is empty"),
        "base_year": (
            0,
            "year of the cluster portfolio used for the treatment; 0 = the latest panel year "
            "before each shock (the treatment is always measured before the shock it is used for)",
        ),
        "years": (
            "",
            "panel years to use, e.g. '2015-2022' (clusteratlas run --years); empty = every "
            "year the data have",
        ),
        "states": (
            [],
            "with --fetch at county or economic-area level: only these states' counties "
            "(FIPS, e.g. ['01', '13']); empty = every state",
        ),
        "map_cluster": (
            "",
            "cluster code whose LQ is mapped; empty = the region's strongest cluster",
        ),
    },
    "clusters": {
        "definition": (
            "uscm",
            '"uscm" (US Cluster Mapping, NAICS 2012) or the path (relative to the current '
            "folder) of your own cluster definition CSV, any country or custom set: columns "
            "naics (or industry), cluster_code, cluster_name, optional traded (1/0), "
            "naics_vintage (default 2012), subcluster_code, subcluster_name",
        ),
    },
    "windows": {
        "shock": ([2018, 2020], "shock window (start, end years) as printed in the seed study"),
        "recovery": (
            [2020, 2022],
            "recovery window (start, end years) as printed in the seed study",
        ),
        "corrected_shock": (
            [2019, 2020],
            "shock window of the corrected design (annual BEA GDP: 2019 peak -> 2020 trough)",
        ),
        "corrected_recovery": ([2020, 2022], "recovery window of the corrected design"),
        "employment_shock": (
            [2019, 2021],
            "shock window for CBP March employment (CBP 2020 predates the lockdown)",
        ),
    },
    "shocks": {
        "great_recession": (
            [2008, 2009, 2014],
            "Great Recession peak, trough, end years for annual data (BEA GDP, QCEW annual "
            "averages); COVID-19 uses the corrected windows above",
        ),
        "great_recession_cbp": (
            [2008, 2010, 2014],
            "Great Recession peak, trough, end years for CBP March counts (employment and the "
            "cluster panel)",
        ),
    },
    "treatment": {
        "rule": (
            "strength_above_quantile",
            f"who counts as a 'cluster region': {', '.join(CONFIG_TREATMENT_RULES)}",
        ),
        "quantile": (
            0.5,
            "strength_above_quantile: treated if cluster strength >= this quantile across regions",
        ),
        "min_strong": (
            3,
            "n_strong_at_least: treated if the region has at least this many strong clusters",
        ),
    },
    "outcomes": {
        "names": (
            [],
            f"outcomes to analyse, any of {', '.join(RUN_OUTCOMES)}; empty = every one the "
            "data have (in that order)",
        ),
        "log": (
            True,
            "no longer used (kept so existing configuration files load): the corrected DIDs are "
            "on log outcomes and the seed study's DID is its annual growth rates, as printed",
        ),
    },
    "theory": {
        "params": (
            {},
            "model calibration, e.g. {K = 0.8, t = 0.1, alpha = 0.5, b = 0.1, F = 0.2, e = 0.3, theta = 0.2}; empty = the model defaults",
        ),
        "x": ("K", "parameter on the regime map's horizontal axis"),
        "x_range": ([0.05, 1.0], "low, high of the x parameter"),
        "y": ("t", "parameter on the regime map's vertical axis"),
        "y_range": ([0.0, 0.9], "low, high of the y parameter"),
        "resolution": (120, "grid points per axis of the regime map"),
        "audit_samples": (
            2000,
            "random admissible parameter points for the audit of the paper's claims",
        ),
    },
}


@dataclass
class RunConfig:
    """Validated run settings (one attribute per config section, each a plain dict)."""

    study: dict[str, Any] = field(default_factory=dict)
    clusters: dict[str, Any] = field(default_factory=dict)
    windows: dict[str, list[int]] = field(default_factory=dict)
    shocks: dict[str, list[int]] = field(default_factory=dict)
    treatment: dict[str, Any] = field(default_factory=dict)
    outcomes: dict[str, Any] = field(default_factory=dict)
    theory: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return asdict(self)

    @property
    def region_type(self) -> str:
        return str(self.study["region_type"])

    @property
    def regions(self) -> list[str]:
        return [str(r) for r in self.study["regions"]]


def defaults() -> RunConfig:
    """The default configuration (the seed study's design at state level, Alabama in focus)."""
    return RunConfig(
        **{section: {k: v[0] for k, v in keys.items()} for section, keys in KEYS.items()}
    )


def from_mapping(raw: dict[str, Any], *, source: str = "config") -> RunConfig:
    """Merge ``raw`` over the defaults; unknown sections or keys are errors."""
    config = defaults()
    for section, values in raw.items():
        if section not in KEYS:
            raise ParameterError(section, f"unknown section in {source}", allowed=", ".join(KEYS))
        if not isinstance(values, dict):
            raise ParameterError(section, "must be a [section] table")
        for key, value in values.items():
            if key not in KEYS[section]:
                raise ParameterError(
                    f"{section}.{key}", f"unknown key in {source}", allowed=", ".join(KEYS[section])
                )
            getattr(config, section)[key] = value
    validate_static(config)
    return config


def load(path: str | Path | None) -> RunConfig:
    """Read a TOML config file (None = the defaults)."""
    if path is None:
        return from_mapping({})
    path = Path(path)
    if not path.is_file():
        raise ParameterError("--config", f"file {path} does not exist")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"not UTF-8 text (byte {error.start:,} is {data[error.start : error.start + 1]!r})",
            path=str(path),
            hint="TOML files are UTF-8; save the config as UTF-8",
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ParameterError("--config", f"{path} is not valid TOML: {error}") from None
    return from_mapping(raw, source=str(path))


def _window(config: RunConfig, key: str) -> None:
    value = config.windows[key]
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise ParameterError(f"windows.{key}", f"must be [start_year, end_year], got {value!r}")
    if value[1] <= value[0]:
        raise ParameterError(f"windows.{key}", f"end year must be after start year, got {value!r}")


def validate_static(config: RunConfig) -> None:
    """Checks that need no data: types, allowed values, window order."""
    study = config.study
    if study["region_type"] not in MAP_REGION_TYPES:
        raise ParameterError(
            "study.region_type",
            f"unknown region type {study['region_type']!r}",
            allowed=", ".join(MAP_REGION_TYPES),
        )
    for key in ("regions", "peers", "states"):
        if not isinstance(study[key], list) or not all(isinstance(r, str) for r in study[key]):
            raise ParameterError(f"study.{key}", 'must be a list of region id strings, e.g. ["01"]')
    study_years(config)  # raises naming study.years
    if not isinstance(study["n_peers"], int) or study["n_peers"] < 1:
        raise ParameterError(
            "study.n_peers", f"must be a positive integer, got {study['n_peers']!r}"
        )
    if not isinstance(study["base_year"], int):
        raise ParameterError("study.base_year", "must be a year (integer) or 0 for the latest")
    definition = config.clusters["definition"]
    if not isinstance(definition, str) or not definition.strip():
        raise ParameterError(
            "clusters.definition",
            f"must be a string, got {definition!r}",
            allowed='"uscm" or the path of a definition CSV',
        )
    for key in KEYS["windows"]:
        _window(config, key)
    for key in KEYS["shocks"]:
        value = config.shocks[key]
        if not (
            isinstance(value, list)
            and len(value) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            and value[0] < value[1] < value[2]
        ):
            raise ParameterError(
                f"shocks.{key}",
                f"must be [peak, trough, end] with peak < trough < end, got {value!r}",
            )
    rule = config.treatment["rule"]
    if rule not in CONFIG_TREATMENT_RULES:
        raise ParameterError(
            "treatment.rule", f"unknown rule {rule!r}", allowed=", ".join(CONFIG_TREATMENT_RULES)
        )
    q = config.treatment["quantile"]
    if not isinstance(q, int | float) or not 0 < float(q) < 1:
        raise ParameterError("treatment.quantile", f"must be strictly between 0 and 1, got {q!r}")
    if not isinstance(config.treatment["min_strong"], int) or config.treatment["min_strong"] < 1:
        raise ParameterError("treatment.min_strong", "must be a positive integer")
    names = config.outcomes["names"]
    if not isinstance(names, list):
        raise ParameterError("outcomes.names", "must be a list", allowed=", ".join(RUN_OUTCOMES))
    for name in names:
        if name not in RUN_OUTCOMES:
            raise ParameterError(
                "outcomes.names", f"unknown outcome {name!r}", allowed=", ".join(RUN_OUTCOMES)
            )
    if not isinstance(config.outcomes["log"], bool):
        raise ParameterError("outcomes.log", "must be true or false")
    _validate_theory(config.theory)


MAX_AUDIT_SAMPLES = 1_000_000


def _validate_theory(theory: dict[str, Any]) -> None:
    for axis in ("x", "y"):
        if theory[axis] not in MAP_PARAMETERS:
            raise ParameterError(
                f"theory.{axis}",
                f"unknown parameter {theory[axis]!r}",
                allowed=", ".join(MAP_PARAMETERS),
            )
        low_high = theory[f"{axis}_range"]
        if not (
            isinstance(low_high, list)
            and len(low_high) == 2
            and all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in low_high
            )
            and low_high[0] < low_high[1]
        ):
            raise ParameterError(
                f"theory.{axis}_range",
                f"must be [low, high], finite numbers with low < high, got {low_high!r}",
            )
    if theory["x"] == theory["y"]:
        raise ParameterError("theory.y", "must differ from theory.x")
    if not isinstance(theory["params"], dict):
        raise ParameterError("theory.params", "must be a table, e.g. {K = 0.8, t = 0.1}")
    for name, value in theory["params"].items():
        if name not in MAP_PARAMETERS:
            raise ParameterError(
                f"theory.params.{name}",
                "unknown model parameter",
                allowed=", ".join(MAP_PARAMETERS),
            )
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ParameterError(f"theory.params.{name}", f"must be a number, got {value!r}")
    for key, most in (("resolution", MAX_RESOLUTION), ("audit_samples", MAX_AUDIT_SAMPLES)):
        value = theory[key]
        if not isinstance(value, int) or isinstance(value, bool) or not 10 <= value <= most:
            raise ParameterError(
                f"theory.{key}", f"must be an integer from 10 to {most:,}, got {value!r}"
            )


def custom_definition(config: RunConfig) -> Any:
    """The user's cluster definition (``[clusters] definition``), or None for the USCM one.

    Read and checked here, before any stage runs: a missing file, a missing column or a rule
    broken in the CSV (see :func:`clusteratlas.data.clusters.read_definition_csv`) is a
    :class:`ParameterError` naming ``clusters.definition``. Codes without a ``naics_vintage``
    column are taken as NAICS 2012 (the vintage of the run's industry counts).
    """
    value = str(config.clusters["definition"]).strip()
    if value == "uscm":
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise ParameterError(
            "clusters.definition",
            f"no cluster definition file {path} (relative paths are read from {Path.cwd()})",
            allowed='"uscm" or the path of a definition CSV',
        )
    try:
        return read_definition_csv(path, naics_vintage=2012)
    except ClusterAtlasError as error:
        raise ParameterError("clusters.definition", f"{path}: {error}") from None


def study_years(config: RunConfig) -> tuple[int, int] | None:
    """``[study] years`` as (first, last), None for every year: "2015-2022", "2016" or ""."""
    value = config.study["years"]
    if value in ("", None, 0):
        return None
    text = str(value).strip()
    try:
        first, _, last = text.partition("-")
        span = (int(first), int(last or first))
    except ValueError:
        raise ParameterError(
            "study.years", f"cannot read {value!r}", allowed="a year (2016) or a range (2015-2022)"
        ) from None
    if span[1] < span[0] or span[0] < 1900:
        raise ParameterError(
            "study.years", f"{value!r} is not a range of years", allowed="2015-2022"
        )
    return span


@dataclass(frozen=True)
class Shock:
    """A shock the study measures: its name, label and windows for annual and CBP March data.

    Annual data (BEA GDP, QCEW annual averages, exports) use ``annual``; CBP counts, taken in
    the pay period of March 12, use ``cbp`` (their trough comes a year later).
    """

    name: str
    label: str
    annual: ShockWindow
    cbp: ShockWindow

    def window(self, outcome: str) -> ShockWindow:
        """The window of ``outcome`` (CBP ``employment`` and the cluster panel: ``cbp``)."""
        return self.cbp if outcome in ("employment", "emp", "cluster") else self.annual

    @property
    def peak(self) -> int:
        """The first pre-shock year: a treatment must be measured no later than this."""
        return min(self.annual.peak, self.cbp.peak)


def shocks(config: RunConfig) -> list[Shock]:
    """The Great Recession and COVID-19, as configured (COVID-19 from the corrected windows)."""
    w = config.windows
    covid_cbp_end = max(w["employment_shock"][1] + 1, w["corrected_recovery"][1])
    return [
        Shock(
            "great_recession",
            "Great Recession",
            ShockWindow(*config.shocks["great_recession"]),
            ShockWindow(*config.shocks["great_recession_cbp"]),
        ),
        Shock(
            "covid19",
            "COVID-19",
            ShockWindow(
                w["corrected_shock"][0], w["corrected_shock"][1], w["corrected_recovery"][1]
            ),
            ShockWindow(w["employment_shock"][0], w["employment_shock"][1], covid_cbp_end),
        ),
    ]


@dataclass(frozen=True)
class Availability:
    """What the input data can support (read cheaply before any stage runs).

    ``panel_years``: years of the region x cluster panel whose levels can be trusted (LQs,
    strong flags, the treatment); ``growth_years``: years of a growth-only panel (incomplete
    levels, e.g. county sums); ``largest``: the region with the most jobs, the default region
    of interest where Alabama's is absent; ``region_ids`` empty = not known before loading
    (a fetch run: checked after the load stage).
    """

    region_ids: frozenset[str]
    outcome_years: dict[str, tuple[int, int]]  # outcome -> (first, last year)
    panel_years: tuple[int, ...]
    cluster_codes: frozenset[str]
    description: str = ""
    growth_years: tuple[int, ...] = ()
    largest: str | None = None
    default_base: int | None = None


def _short(values: Any, n: int = 12) -> str:
    values = sorted(map(str, values))
    return ", ".join(values[:n]) + (f", ... ({len(values)} in all)" if len(values) > n else "")


def validate_against(config: RunConfig, available: Availability) -> None:
    """Checks against the data: unknown regions, windows outside the data years, unknown clusters.

    Windows and outcomes are checked as the user set them: default windows the data cannot
    see, and default outcomes the data lack, are left to the stages, which say "not possible"
    and why in the report. Regions are checked when the data's region ids are known.
    """
    for key in ("regions", "peers"):
        for region in config.study[key]:
            if available.region_ids and region not in available.region_ids:
                raise ParameterError(
                    f"study.{key}",
                    f"unknown {config.region_type} {region!r} in {available.description}",
                    allowed=_short(available.region_ids),
                )
    base = config.study["base_year"]
    if base and base not in available.panel_years:
        raise ParameterError(
            "study.base_year",
            f"no cluster panel for {base}",
            allowed=_short(available.panel_years) + " or 0",
        )
    cluster = config.study["map_cluster"]
    if cluster and str(cluster) not in available.cluster_codes:
        raise ParameterError(
            "study.map_cluster",
            f"unknown cluster code {cluster!r}",
            allowed=_short(available.cluster_codes, 70),
        )
    wanted = [o for o in config.outcomes["names"]]
    missing = [o for o in wanted if o not in available.outcome_years]
    if missing:
        raise ParameterError(
            "outcomes.names",
            f"no data for {', '.join(missing)} in {available.description}",
            allowed=", ".join(sorted(available.outcome_years)),
        )
    wanted = wanted or list(available.outcome_years)
    if not wanted:
        return
    first = min(available.outcome_years[o][0] for o in wanted)
    last = max(available.outcome_years[o][1] for o in wanted)
    default = KEYS["windows"]
    for key, (start, end) in config.windows.items():
        if [start, end] == default[key][0]:
            continue  # a default window the data cannot see: the stages say so
        if start < first or end > last:
            raise ParameterError(
                f"windows.{key}",
                f"window {start}-{end} lies outside the outcome data years {first}-{last}",
                allowed=f"years between {first} and {last}",
            )


#: config rule name -> (clusteratlas.panel.design.treatment_from_panel rule, its extra arguments)
_DESIGN_RULES: dict[str, tuple[str, dict[str, Any]]] = {
    "strength_above_quantile": ("strength_quantile", {"at_quantile": True}),
    "any_strong": ("any_strong", {}),
    "n_strong_at_least": ("n_strong_at_least", {}),
}
#: treatment_from_panel argument -> config key, so errors name what the user wrote
_DESIGN_KEYS = {
    "rule": "treatment.rule",
    "quantile": "treatment.quantile",
    "min_strong": "treatment.min_strong",
    "year": "study.base_year",
}


def design_rule(treatment: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The ``[treatment]`` section as a :mod:`clusteratlas.panel.design` rule and its options
    (for :func:`~clusteratlas.panel.design.cohort_from_panel` and ``treatment_from_panel``)."""
    rule, extra = _DESIGN_RULES[treatment["rule"]]
    return rule, {
        "quantile": float(treatment["quantile"]),
        "min_strong": int(treatment["min_strong"]),
        **extra,
    }


def cluster_regions(summary: Any, treatment: dict[str, Any], year: int, shock_year: int) -> Any:
    """The ``[treatment]`` rule applied to a region summary in ``year`` (before ``shock_year``).

    A thin mapping onto :func:`clusteratlas.panel.design.treatment_from_panel` (the one
    implementation of the rules): config names -> its rules, its errors -> config keys.
    Returns region_type, region_id, measured_year, n_strong, cluster_strength, treated (bool).
    """
    rule, extra = _DESIGN_RULES[treatment["rule"]]
    try:
        out = treatment_from_panel(
            summary,
            rule,
            year=int(year),
            shock_year=int(shock_year),
            quantile=float(treatment["quantile"]),
            min_strong=int(treatment["min_strong"]),
            require_both_groups=True,
            **extra,
        )
    except ParameterError as error:
        key = _DESIGN_KEYS.get(error.name, error.name)
        raise ParameterError(key, str(error).split(": ", 1)[1]) from None
    out["treated"] = out["treated"].astype(bool)
    out["region_id"] = out["region_id"].astype(str)
    return out


def to_toml(config: RunConfig | None = None) -> str:
    """The config as commented TOML (``clusteratlas init-config`` writes this)."""
    config = config or defaults()
    lines = [
        "# clusteratlas run configuration (TOML). Every key is optional; absent keys take the",
        "# defaults shown here, which reproduce the seed study (Cho et al. 2024) at state level.",
    ]
    for section, keys in KEYS.items():
        lines += ["", f"[{section}]"]
        for key, (_, text) in keys.items():
            lines.append(f"# {text}")
            lines.append(f"{key} = {_toml_value(getattr(config, section)[key])}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def help_text() -> str:
    """Every config key with its default and meaning, for ``clusteratlas run --help``."""
    parts = []
    for section, keys in KEYS.items():
        # A Markdown list (the CLI renders help as Markdown): one key per line.
        items = "\n".join(
            f"- `{section}.{k}` (default `{_toml_value(d)}`): {t}" for k, (d, t) in keys.items()
        )
        parts.append(f"**[{section}]**\n\n{items}")
    return "\n\n".join(parts)
