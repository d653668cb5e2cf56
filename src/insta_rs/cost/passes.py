"""What a run costs before it starts: the forward passes of every job in the DAG of a config, per rule and per
table (``snakemake cost``; :mod:`insta_rs.cost.calibrate` measures the throughput, :mod:`insta_rs.cost.bill`
writes ``results/<run>/cost.md``).

Forward passes, with E test examples of the subset, V validation examples, T training examples, K levels, m the
search's noise vectors (all shards of a job together):

- a certification of the test subset (at a level, or at a search's sigmas): E (N0 + N); the validation split at every
  level: K V (N0 + validation_n); Dual RS's selector: E (N0 + N); with the sequential procedure N is the cap, and an
  example uses a fraction r of it (:func:`insta_rs.cost.bill.sequential_ratios`, measured);
- Algorithm 1 (search_instance, fgss): ASS m E, with ASS the paper's average search steps (its Table 3), an
  assumption, at most K; the grid: K m E; Algorithm 3 (search_uniform): at most K m times its split;
- training (forward-pass equivalents): epochs T times the method's cost per example (its registry entry,
  insta_rs.training.methods.METHODS); Algorithm 2's level updates (epochs / L) T 2 m2; PFAT's grid assignment
  T K m2; Dual RS's labels (candidates) m T, its selector at most epochs T times its method's cost;
- the audit, an upper bound: per audited example and mode, the deployed classifier at every candidate point and
  again to confirm it, and the gradient surrogate's steps.

A table, figure or sound certificate needs the jobs that make the files it reads (insta_rs.workflow.plan.Plan), and the
training of their models; work shared between them is counted once, at the first that needs it. Free of torch.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Sequence

from insta_rs.certification.procedures import PROCEDURES
from insta_rs.cost.split_sizes import splits
from insta_rs.report.paper import paper_numbers
from insta_rs.search.registry import SEARCH_METHODS
from insta_rs.sound.modes import SOUND_MODES, audited_mode, certification_path
from insta_rs.training.config import parse_stage
from insta_rs.training.methods import METHODS
from insta_rs.training.two_stage import TWO_STAGE_METHODS
from insta_rs.workflow.plan import Plan

COST_TARGET = "cost"
SHARDED_RULES = ("certify_levels", "certify_level", "certify_validation", "certify_assigned", "search_instance",
                 "certify_selector")


@dataclass(frozen=True)
class Work:
    """The jobs of one rule for one subject (all shards): forward passes (training: forward-pass equivalents) of
    architecture ``arch``, the keys of the work it needs, and ``scaled``, the estimation samples among its passes
    that a sequential certification spends only in part (0 for all other work)."""

    rule: str
    subject: str
    arch: str
    passes: float
    jobs: int = 1
    training: bool = False
    scaled: float = 0.0
    needs: tuple[str, ...] = ()
    certifications: int = 0  # certifications of the whole test subset it makes


def cost_alone_requested(argv: Sequence[str] | None = None) -> bool:
    """Whether a ``snakemake`` command line (default: this process's) asks for the ``cost`` target and nothing else,
    read with Snakemake's own parser (``--until cost``, or ``cost`` as a config file, is not the target)."""
    argv = sys.argv if argv is None else argv
    if COST_TARGET not in argv[1:]:
        return False
    from snakemake.cli import get_argument_parser

    try:
        args, _ = get_argument_parser().parse_known_args(list(argv[1:]))
    except SystemExit:
        return False
    return list(args.targets or []) == [COST_TARGET]


def assumed_ass(n_levels: int) -> float:
    """Algorithm 1's average search steps: the paper's (Table 3, 16 levels), at most ``n_levels``."""
    return min(float(paper_numbers()["table3"]["rows"]["fgss"]["ass"]), n_levels)


class RunCost:
    """Every job of a config's DAG with its forward passes (:class:`Work`), and what each target needs."""

    def __init__(self, plan: Plan):
        self.plan, self.config, self.layout = plan, plan.config, plan.layout
        self.splits = splits(self.config["dataset"])
        self.swept = set(plan.swept_models())
        self.work: dict[str, Work] = {}
        self.makes: dict[str, list[str]] = {self.layout.data_flag(): []}
        for model in self.config["models"]:
            self._index_model(model)
        for model in plan.dual_models():
            self._index_dual(model)
        sound, audit = self.config["sound"], self.config["sound"]["audit"]
        certified = {(model, mode) for model in sound["models"] for mode in sound["modes"]}
        certified |= {(model, mode) for model in audit["models"] for mode in audit["modes"] if mode in SOUND_MODES}
        for model, mode in sorted(certified):
            self._index_sound(model, mode)
        self.makes[self.layout.table("audit", "md")] = [self._audit(model, first=number == 0)
                                                         for number, model in enumerate(audit["models"])]

    # ------------------------------------------------------------------------------------------ needs
    def needs(self, paths: Sequence[str]) -> list[str]:
        """Keys of the work that makes ``paths``, and of all the work that needs, in first-needed order."""
        found: dict[str, None] = {}

        def visit(key: str) -> None:
            if key not in found:
                for needed in self.work[key].needs:
                    visit(needed)
                found[key] = None

        for path in paths:
            for key in self._made_by(path):
                visit(key)
        return list(found)

    def _made_by(self, path: str) -> list[str]:
        if path not in self.makes:
            raise KeyError(f"snakemake cost does not know which job makes {path}")
        return self.makes[path]

    def targets(self) -> list[tuple[str, list[str]]]:
        """``(target, work keys it needs)`` for every table, figure, sound certificate and the audit of the run."""
        plan, sound = self.plan, self.config["sound"]
        found = [(name, plan.table_inputs(name)) for name in plan.table_names()]
        found += [(f"figure {name}", plan.figure_inputs(name)) for name in self.config.get("figures", {})]
        found += [(f"sound {mode}: {model}", [self.layout.sound(model, mode)])
                  for model in sound["models"] for mode in sound["modes"]]
        found += [("audit", [self.layout.table("audit", "md")])] if sound["audit"]["models"] else []
        return [(name, self.needs(paths)) for name, paths in found]

    def first_needed(self) -> list[tuple[str, list[str]]]:
        """:meth:`targets` with each piece of work only at the first target that needs it."""
        seen: set[str] = set()
        result = []
        for name, keys in self.targets():
            new = [key for key in keys if key not in seen]
            seen.update(new)
            result.append((name, new))
        return result

    def architectures(self) -> list[str]:
        """The architectures whose forward passes the run spends (the models', and Dual RS selectors')."""
        return sorted({self.work[key].arch for _, keys in self.targets() for key in keys if self.work[key].passes})

    # ------------------------------------------------------------------------------------------ evaluation
    def _add(self, key: str, work: Work) -> str:
        self.work.setdefault(key, work)
        return key

    def _arch(self, model: str) -> str:
        return self.config["models"][model]["arch"]

    def _certification(self, rule: str, subject: str, model: str, certifications: int, split: str = "test",
                       needs: tuple[str, ...] = ()) -> str:
        """``certifications`` certifications of every example of ``split`` (the test subset or the validation
        split) by ``model``."""
        certify = self.config["certify"]
        examples = certifications * (self.splits.test if split == "test" else self.splits.validation)
        n = certify["n"] if split == "test" else certify["validation_n"] or certify["n"]
        scaled = 0.0 if PROCEDURES[certify["procedure"]].fixed_n else examples * n
        return self._add(f"{rule}:{subject}", Work(
            rule, subject, self._arch(model), examples * (certify["n0"] + n), certify["shards"], scaled=scaled,
            needs=(self._model(model), *needs), certifications=certifications if split == "test" else 0))

    def _level(self, model: str, level: int) -> str:
        if model in self.swept:
            return self._certification("certify_levels", model, model, self.plan.n_levels)
        return self._certification("certify_level", f"{model}, level {level}", model, 1)

    def _search(self, model: str, method: str) -> str:
        if method == "knn":  # kNN distances on the CPU: no forward passes
            return self._add(f"sound_knn_sigma:{model}", Work("sound_knn_sigma", model, self._arch(model), 0.0,
                                                              needs=(self._model(model),)))
        steps = assumed_ass(self.plan.n_levels) if SEARCH_METHODS[method].fewer_levels else self.plan.n_levels
        return self._add(f"search_instance:{model}, {method}", Work(
            "search_instance", f"{model}, {method}", self._arch(model),
            steps * self.config["search"]["m"] * self.splits.test, self.config["certify"]["shards"],
            needs=(self._model(model),)))

    def _index_model(self, model: str) -> None:
        """Which work makes each result file of ``model``."""
        layout, n_levels, train = self.layout, self.plan.n_levels, self.config["models"][model].get("train", {})
        self.makes[layout.checkpoint(model)] = [self._model(model)]
        for level in self.plan.all_levels:
            self.makes[layout.level(model, level)] = [self._level(model, level)]
            self.makes[layout.validation_level(model, level)] = [
                self._certification("certify_validation", model, model, n_levels, "validation")]
        # the collapse guard reads the validation certifications (none when analysis.collapse_guard is off)
        guard = [self._certification("certify_validation", model, model, n_levels, "validation")
                 for _ in self.plan.collapse_guard_inputs(model)[:1]]
        self.makes[layout.collapse_guard(model)] = guard
        for method in self.plan.assignments():
            self.makes[layout.search(model, method)] = [self._search(model, method)]
            self.makes[layout.assigned(model, method)] = [self._certification(
                "certify_assigned", f"{model}, {method}", model, 1, needs=(self._search(model, method),))]
        for split, examples in (("test", self.splits.test), ("validation", self.splits.validation)):
            self.makes[layout.uniform(model, split)] = [self._add(f"search_uniform:{model}, {split}", Work(
                "search_uniform", f"{model}, {split}", self._arch(model),
                n_levels * self.config["search"]["m"] * examples, needs=(self._model(model),)))]
        self.makes[layout.uniform(model, "validation")] += guard
        if "knn" in self.plan.assignments():  # the semi-elastic sigma's kNN sigma, which reads the guard
            self.makes[layout.knn_meta(model)] = [self._search(model, "knn")] + guard
        if train.get("method") in TWO_STAGE_METHODS:  # Algorithm 2's levels, PFAT's assignment, their timing
            stage1 = self._stage1(self.plan.stage1_source(model))
            for path in (layout.training_levels(model), layout.model_file(model, "sigma_assignment.json"),
                         layout.model_file(model, "assigned_levels.tsv")):
                self.makes[path] = [stage1[-1]]

    def _index_dual(self, model: str) -> None:
        """Dual RS of ``model``: the selector's labels, its training, its certification and the certificate."""
        dual, certify, layout = self.config["sound"]["dual"], self.config["certify"], self.layout
        selector = dual["selector"]
        labels = self._add(f"dual_labels:{model}", Work(
            "dual_labels", model, self._arch(model), len(dual["levels"]) * dual["labels"]["m"] * self.splits.train,
            training=True, needs=(self._model(model), *self.makes[layout.collapse_guard(model)])))
        trained = self._stage("dual_selector", model, selector["arch"], selector["train"], "fixed", needs=(labels,))
        estimation = self.splits.test * certify["n"]
        certified = self._add(f"certify_selector:{model}", Work(
            "certify_selector", model, selector["arch"], self.splits.test * certify["n0"] + estimation,
            certify["shards"], scaled=0.0 if PROCEDURES[certify["procedure"]].fixed_n else estimation,
            needs=(trained,), certifications=1))
        self.makes[layout.model_file(model, "selector_labels.tsv")] = [labels]
        self.makes[layout.model_file(model, "selector.pt")] = [trained]
        self.makes[layout.selector_certification(model)] = [certified]

    def _index_sound(self, model: str, mode: str) -> None:
        """The certificate of sound ``mode`` for ``model``: no forward passes; it needs what makes its inputs."""
        inputs = SOUND_MODES[mode].inputs(self.layout, self.config, model).values()
        paths = [path for named in inputs for path in ([named] if isinstance(named, str) else named)]
        self.makes[self.layout.sound(model, mode)] = list(dict.fromkeys(
            key for path in paths for key in self._made_by(path)))

    def _audit(self, model: str, first: bool) -> str:
        """The audit of ``model``'s certifications, an upper bound (module docstring); one job for every model."""
        audit, n_levels = self.config["sound"]["audit"], self.plan.n_levels
        search_steps = assumed_ass(n_levels) * self.config["search"]["m"]  # Algorithm 1 at every query of Insta-RS

        def per_query(mode: str) -> float:
            return audited_mode(mode).query_passes(self.config) + (search_steps if mode == "insta_rs" else 0)

        candidates = audit["n_neighbors"] * audit["n_line"] + audit["steps"]
        surrogate = audit["steps"] * 3 * n_levels * audit["n_noise"]  # forward and backward at every level
        examples = min(audit["n_examples"], self.splits.test)
        passes = sum(examples * (2 * candidates * per_query(mode) + surrogate) for mode in audit["modes"])
        needs = [key for mode in audit["modes"] for key in self._made_by(certification_path(self.layout, model, mode))]
        return self._add(f"sound_audit:{model}", Work("sound_audit", model, self._arch(model), passes, int(first),
                                                      needs=(self._model(model), *needs)))

    # ------------------------------------------------------------------------------------------ training
    def _stage(self, rule: str, model: str, arch: str, stage: dict, role: str, extra: float = 0.0,
               needs: Sequence[str] = ()) -> str:
        """A training stage of ``model`` (network ``arch``): epochs x T x its method's cost per example, + ``extra``."""
        parsed = parse_stage(stage, role, f"models.{model}")
        per_example = METHODS[parsed.method].forward_cost(parsed.options)
        return self._add(f"{rule}:{model}", Work(rule, model, arch, parsed.epochs * self.splits.train * per_example
                                                 + extra, training=True, needs=tuple(needs)))

    def _stage1(self, model: str) -> list[str]:
        """The keys of a two-stage model's own stage I (and its separate level assignment, PFAT's grid), in order:
        each level evaluation costs ``m2`` forward passes per training example and evaluated level."""
        train = self.config["models"][model]["train"]
        method, role, arch = TWO_STAGE_METHODS[train["method"]], f"{train['method']}_stage1", self._arch(model)
        stage1 = parse_stage(train["stage1"], role, f"models.{model}.train.stage1")
        per_assignment = self.splits.train * method.levels_per_update(self.plan.n_levels) * stage1.m2
        rules = method.rules
        if rules["assign"] == rules["stage1"]:  # the levels are updated within stage I, every L epochs
            return [self._stage(rules["stage1"], model, arch, train["stage1"], role,
                                stage1.epochs // stage1.L * per_assignment)]
        first = self._stage(rules["stage1"], model, arch, train["stage1"], role)
        return [first, self._add(f"{rules['assign']}:{model}", Work(rules["assign"], model, arch, per_assignment,
                                                                    training=True, needs=(first,)))]

    def _model(self, model: str) -> str:
        """The key of the work that makes ``model``'s final checkpoint (its training chain before it)."""
        entry = self.config["models"][model]
        if "pretrained" in entry:
            return self._add(f"import_pretrained:{model}", Work("import_pretrained", model, entry["arch"], 0.0))
        train = entry["train"]
        if train["method"] not in TWO_STAGE_METHODS:
            return self._stage("train_fixed_sigma", model, entry["arch"], train, "fixed")
        stage1 = self._stage1(self.plan.stage1_source(model))
        if not train.get("stage2"):
            return self._add(f"export_stage1:{model}", Work("export_stage1", model, entry["arch"], 0.0,
                                                            needs=(stage1[0],)))
        return self._stage(TWO_STAGE_METHODS[train["method"]].rules["stage2"], model, entry["arch"], train["stage2"],
                           "stage2", needs=stage1)
