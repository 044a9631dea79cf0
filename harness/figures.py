"""Figure registry: which experiments feed each figure and which function draws it.

Every figure is a pure function of stored result tables (``plot(df, out_dir) ->
list[Path]``). :func:`render_figure` refuses, with one clear line, when an input
experiment has pending points at the requested scale, so a figure is never drawn from
an incomplete sweep; failed points are left to the plotting function, which excludes
them and says so.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.registry import Registry
from harness.sweep import ResultStore, expand_grid, load_results, load_spec
from harness.sweep.spec import Spec

EXPERIMENTS_DIR = Path("experiments")


@dataclass(frozen=True)
class Figure:
    """A figure of the reproduction.

    Attributes
    ----------
    id : str                 short name, also the make target (``make fig3``)
    title : str
    paper : str              which paper / figure it reproduces
    experiment : str         the spec name whose table it plots
    plot : str               ``"module:function"`` with ``function(df, out_dir) -> list[Path]``
    checks : tuple of str    ids of the checks this figure illustrates
    extra : tuple of (keyword, experiment)
        Further tables passed to the plotting function as keyword arguments.
    """

    id: str
    title: str
    paper: str
    experiment: str
    plot: str
    checks: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def experiments(self) -> tuple[str, ...]:
        """Every experiment whose table the figure reads."""
        return (self.experiment, *(name for _, name in self.extra))

    def plot_function(self) -> Callable[..., list[Path]]:
        module, _, name = self.plot.partition(":")
        try:
            fn = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise HarnessError(
                f"figure {self.id}: plotting function {self.plot} is not available ({exc})"
            ) from exc
        return fn  # type: ignore[no-any-return]


_FIGURE_LIST: dict[str, Figure] = {
    f.id: f
    for f in (
        Figure(
            "fig1",
            "Relaxation objective against width",
            "Kim & Pilanci 2024, Fig. 1",
            "relaxation_width",
            "harness.plots.relaxation:plot_fig1",
            ("P3",),
        ),
        Figure(
            "fig2",
            "Relative gap p~*/p* against n",
            "Kim & Pilanci 2024, Thm 2.1",
            "relaxation_gap",
            "harness.plots.relaxation:plot_fig2",
            ("P1", "P2", "P5", "P6", "P12", "P14"),
        ),
        Figure(
            "fig3",
            "kappa against d and c",
            "Kim & Pilanci 2024, Thm 3.9",
            "kappa",
            "harness.plots.theory:plot_fig3",
            ("P4",),
        ),
        Figure(
            "fig4",
            "Cone sharpness against n",
            "Kim & Pilanci 2024, Def 4.1 / Cor 4.5",
            "sharpness",
            "harness.plots.theory:plot_fig4",
            ("P11", "P13"),
        ),
        Figure(
            "fig5",
            "MAX-CUT bound",
            "Kim & Pilanci 2024, Sec 3.4",
            "maxcut",
            "harness.plots.theory:plot_fig5",
            ("P7", "P6"),
            (("paired", "relaxation_gap"),),
        ),
        Figure(
            "fig6",
            "Coupling lemma: preserved activation patterns",
            "Kim & Pilanci 2024, Fig. 2",
            "coupling",
            "harness.plots.coupling:plot_coupling",
            ("P15",),
        ),
        Figure(
            "fig7",
            "Effect of regularization on test accuracy",
            "Kim & Pilanci 2024, App. E",
            "regularization",
            "harness.plots.regularization:plot_regularization",
            ("P18",),
        ),
        Figure(
            "fig8",
            "Stationary points of local methods",
            "Kim & Pilanci 2024, Thm 2.5",
            "stationary",
            "harness.plots.relaxation:plot_fig8",
            ("P16",),
        ),
        Figure(
            "shallow1",
            "Single neuron: GD vs regularized GD",
            "Ergen & Pilanci 2019, Fig. 1",
            "shallow_single",
            "harness.plots.shallow:plot_shallow_fig1",
            ("S1", "S2"),
        ),
        Figure(
            "shallow2",
            "Three neurons: GD vs modified GD",
            "Ergen & Pilanci 2019, Fig. 2",
            "shallow_multi",
            "harness.plots.shallow:plot_shallow_fig2",
            ("S3",),
        ),
        Figure(
            "deep1",
            "Three-layer parallel networks: SGD vs the convex program (13)",
            "Ergen & Pilanci 2021, Fig. 4",
            "deep_synthetic",
            "harness.plots.deep:plot_deep_fig4",
            ("E1", "E2", "E5"),
        ),
        Figure(
            "deep2",
            "Penalised convex program (16) vs (5) on Fashion-MNIST",
            "Ergen & Pilanci 2021, Fig. 5/6 (CPU scale)",
            "deep_fmnist",
            "harness.plots.deep:plot_deep_fmnist",
            ("E6",),
        ),
    )
}

#: The figures of the reproduction, by id (a :class:`harness.registry.Registry`).
FIGURES: Registry[Figure] = Registry("figure", error=HarnessError, items=_FIGURE_LIST)


def available_figures(
    experiments_dir: str | os.PathLike[str] = EXPERIMENTS_DIR,
) -> dict[str, Figure]:
    """Figures whose spec files (in ``experiments_dir``) and plotting module both exist."""
    specs = spec_paths(experiments_dir)
    out = {}
    for fid, fig in FIGURES.items():
        module = fig.plot.partition(":")[0]
        if all(e in specs for e in fig.experiments) and importlib.util.find_spec(module):
            out[fid] = fig
    return out


def spec_paths(experiments_dir: str | os.PathLike[str] = EXPERIMENTS_DIR) -> dict[str, Path]:
    """Map spec name -> path for every ``experiments/*.toml`` (file stem = spec name)."""
    return {p.stem: p for p in sorted(Path(experiments_dir).glob("*.toml"))}


def find_spec(name: str, experiments_dir: str | os.PathLike[str] = EXPERIMENTS_DIR) -> Spec:
    """Load ``experiments/NAME.toml``; ``HarnessError`` when it does not exist."""
    path = Path(experiments_dir) / f"{name}.toml"
    if not path.is_file():
        raise HarnessError(f"experiment spec {path} not found")
    return load_spec(path)


def pending_points(
    spec: Spec, scale: str, results_dir: str | os.PathLike[str]
) -> tuple[int, int, int]:
    """``(total, failed, pending)`` points of ``spec`` at ``scale`` in the store."""
    states = ResultStore(results_dir, spec.name).point_states()
    keys = [p.cache_key for p in expand_grid(spec, scale)]
    failed = sum(states.get(k) == "failed" for k in keys)
    pending = sum(k not in states for k in keys)
    return len(keys), failed, pending


def render_figure(
    fig: Figure,
    scale: str,
    results_dir: str | os.PathLike[str] = "results",
    figures_dir: str | os.PathLike[str] = "figures",
    experiments_dir: str | os.PathLike[str] = EXPERIMENTS_DIR,
) -> list[Path]:
    """Draw ``fig`` from the stored table of its experiment at ``scale``.

    Raises
    ------
    HarnessError
        The spec is missing, or its sweep has pending points at this scale.
    """
    tables = {}
    for name in fig.experiments:
        spec = find_spec(name, experiments_dir)
        total, _failed, pending = pending_points(spec, scale, results_dir)
        if pending:
            raise HarnessError(
                f"figure {fig.id} needs experiment '{spec.name}' at scale {scale}: {pending} of "
                f"{total} points not computed; run `harness run {spec.path} --scale {scale}`"
            )
        tables[name] = load_results(spec.name, scale, results_dir)
    out_dir = Path(figures_dir) / scale
    out_dir.mkdir(parents=True, exist_ok=True)
    kwargs = {kw: tables[name] for kw, name in fig.extra}
    produced = [Path(p) for p in fig.plot_function()(tables[fig.experiment], out_dir, **kwargs)]
    return _canonical_names(fig.id, produced)


def _canonical_names(fig_id: str, paths: list[Path]) -> list[Path]:
    """Rename outputs to ``<id>.png`` / ``<id>.pdf`` (``<id>_2.png`` ... for extra panels)."""
    out: list[Path] = []
    counters: dict[str, int] = {}
    for path in paths:
        k = counters.get(path.suffix, 0) + 1
        counters[path.suffix] = k
        target = path.with_name(f"{fig_id}{'' if k == 1 else f'_{k}'}{path.suffix}")
        if target != path:
            os.replace(path, target)
        out.append(target)
    return out
