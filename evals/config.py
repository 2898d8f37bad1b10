"""turnout.yaml: the declarations of golden sets, models and watches, checked before anything is stored."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evals.advisor.policy import AdvisorPolicy
from evals.alerts.routes import AlertRoutes
from evals.cases import GoldenSet, Privacy
from evals.cron import check_cron, check_timezone
from evals.drift.judge import judged_spec
from evals.drift.judge_labels import JudgeLabel, read_judge_labels
from evals.drift.settings import DriftSettings
from evals.errors import ConfigError, GoldenSetError
from evals.goldensets import Format, load_cases, parse_inline_cases
from evals.goldensets.common import field_name
from evals.goldensets.mapped import FieldMap, read_mapped
from evals.goldensets.support import check_supported
from evals.models import ModelSpec
from evals.policy import check_privacy
from evals.prompts import DEFAULT_TEMPLATE, check_template
from evals.providers.vllm_batch import engine_args, sampling_args
from evals.scoring.judge import judge_models
from evals.scoring.registry import ScorerSpec, primary_spec
from evals.yamllines import line_of, parse_yaml, to_plain


class GoldenSetDecl(BaseModel):
    """A `golden_sets:` entry: cases from a file (relative to turnout.yaml) or inline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    file: str | None = None
    format: Format | None = None
    cases: list[Any] | None = None
    privacy: Privacy = "internal"
    fields: FieldMap | None = None
    """For a JSONL or CSV file in another shape: which column is each case field."""
    allow_unsupported: bool = False
    """Import asserts Turnout cannot run; their cases are then unscorable by `asserts`."""

    @model_validator(mode="after")
    def _one_source(self) -> GoldenSetDecl:
        if (self.file is None) == (self.cases is None):
            raise ValueError("give exactly one of 'file' or 'cases'")
        if self.fields is not None and (self.file is None or self.format not in (None, "jsonl", "csv")):
            raise ValueError("'fields' maps the columns of a JSONL or CSV `file:`")
        return self


class WatchDecl(BaseModel):
    """A `watches:` entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    golden_set: str
    production: str
    candidates: list[str] = Field(default_factory=list)
    template: str = DEFAULT_TEMPLATE
    scorers: list[str | dict[str, Any]] = Field(min_length=1)
    schedule: str | None = None
    timezone: str = "UTC"
    paused: bool = False
    repeat: int = Field(default=1, ge=1, le=100)
    budget_usd: float | None = Field(default=None, gt=0)
    team: str | None = None
    policy: AdvisorPolicy = Field(default_factory=AdvisorPolicy)
    """The advisor's policy: margin, critical segments, volume, SLO, residencies, hysteresis."""
    drift: DriftSettings = Field(default_factory=DriftSettings)
    """Drift checks: reference runs, probe, judge labels, report retention."""
    alerts: AlertRoutes = Field(default_factory=AlertRoutes)
    """Where alerts go: a Slack channel through a bot token, a Slack incoming webhook, a generic webhook."""
    alert: Any = None
    """The former name of `alerts`; refused."""
    misfire: Literal["skip", "run_once"] = "run_once"
    """What to do with slots missed while no scheduler ran (acted on by the scheduler)."""

    @field_validator("alert")
    @classmethod
    def _renamed(cls, value: Any) -> None:
        if value is not None:
            raise ValueError("renamed to alerts: write `alerts: {slack_channel: ..., slack_token_env: ...}`")
        return None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            check_cron(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        check_timezone(value)
        return value

    @field_validator("template")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            check_template(value)
        except ConfigError as exc:  # pydantic locates a ValueError: file, line and field
            raise ValueError(exc.reason) from None
        return value

    @model_validator(mode="after")
    def _roles(self) -> WatchDecl:
        if self.production in self.candidates:
            raise ValueError(f"'{self.production}' is the production model; it cannot also be a candidate")
        if len(set(self.candidates)) != len(self.candidates):
            raise ValueError("candidates are listed twice")
        return self

    def scorer_specs(self) -> list[ScorerSpec]:
        """The scorers as specs; the primary one is marked."""
        specs = [ScorerSpec.from_data(item) for item in self.scorers]
        primary = primary_spec(specs)
        return [ScorerSpec(s.name, s.options, primary=s is primary) for s in specs]


class ConfigFile(BaseModel):
    """The whole of turnout.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    golden_sets: list[GoldenSetDecl] = Field(default_factory=list)
    models: list[ModelSpec] = Field(default_factory=list)
    watches: list[WatchDecl] = Field(default_factory=list)


@dataclass(frozen=True)
class Config:
    """A checked turnout.yaml with its golden sets read."""

    path: Path
    golden_sets: dict[str, tuple[GoldenSetDecl, GoldenSet]]
    models: dict[str, ModelSpec]
    watches: dict[str, WatchDecl]
    notes: dict[str, tuple[str, ...]] = dataclass_field(default_factory=dict)
    """Per golden set, what `apply` should tell: generated ids, asserts imported as unscorable."""
    judge_labels: dict[str, tuple[JudgeLabel, ...]] = dataclass_field(default_factory=dict)
    """Per watch with `drift: {judge_labels: FILE}`, the labels read from FILE (stored with the watch)."""


def load_config(path: Path, *, allow_unsupported: bool = False) -> Config:
    """Read and check turnout.yaml and every golden-set file it names.

    Args:
        path: turnout.yaml.
        allow_unsupported: Import asserts Turnout cannot run in every golden set (as
            `allow_unsupported: true` does for one); otherwise they are refused, listed per case.

    Raises:
        ConfigError: with file, line and field, for the first problem found (ConfigProblems
            listing every case, for unsupported asserts).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from None
    located = parse_yaml(text, file=path)
    if located is None:
        raise ConfigError("the file is empty; declare golden_sets, models and watches", file=path)
    if not isinstance(located, dict):
        raise ConfigError("the top level must be a mapping with golden_sets, models and watches", file=path, line=1)
    try:
        declared = ConfigFile.model_validate(to_plain(located))
    except ValidationError as exc:
        raise _located_error(exc, located, path) from None
    _check_unique_names(declared, located, path)
    for index, model in enumerate(declared.models):
        _check_vllm(model, index, path, located)
    golden_sets: dict[str, tuple[GoldenSetDecl, GoldenSet]] = {}
    notes: dict[str, tuple[str, ...]] = {}
    for index, decl in enumerate(declared.golden_sets):
        golden_set, read_notes = _read_golden_set(decl, index, path, located)
        golden_sets[decl.name] = (decl, golden_set)
        notes[decl.name] = read_notes + check_supported(
            golden_set, allowed=allow_unsupported or decl.allow_unsupported,
            file=decl.file or f"{path}: golden_sets[{index}].cases")
    config = Config(path=path, golden_sets=golden_sets,
                    models={m.name: m for m in declared.models},
                    watches={w.name: w for w in declared.watches}, notes=notes)
    for index, watch in enumerate(declared.watches):
        _check_watch(config, watch, index, located)
    return config


def _located_error(exc: ValidationError, located: Any, path: Path) -> ConfigError:
    error = exc.errors()[0]
    loc = tuple(part for part in error["loc"] if isinstance(part, str | int))
    # pydantic adds union branch names (e.g. 'str') to the location; keep the part the file has.
    while error["type"] != "missing" and loc and isinstance(loc[-1], str) and not _has(located, loc):
        loc = loc[:-1]
    message = error["msg"].removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
    return ConfigError(message + more, file=path, line=line_of(located, loc), field=field_name(loc) or None)


def _has(data: Any, loc: tuple[str | int, ...]) -> bool:
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False
    return True


def _check_unique_names(declared: ConfigFile, located: Any, path: Path) -> None:
    for section in ("golden_sets", "models", "watches"):
        seen: dict[str, int] = {}
        for index, item in enumerate(getattr(declared, section)):
            if item.name in seen:
                raise ConfigError(f"name '{item.name}' is declared twice (also {section}[{seen[item.name]}])",
                                  file=path, line=line_of(located, (section, index, "name")),
                                  field=f"{section}[{index}].name")
            seen[item.name] = index


def _check_vllm(model: ModelSpec, index: int, path: Path, located: Any) -> None:
    """Refuse at `apply` the `kind: vllm` params and options a GPU worker would refuse at run time."""
    if model.kind != "vllm":
        return
    try:
        sampling_args(model)
        engine_args(model)
    except ConfigError as exc:
        parts = tuple(exc.field.split(".")) if exc.field else ()
        raise ConfigError(exc.reason, file=path, line=line_of(located, ("models", index, *parts)),
                          field=f"models[{index}].{exc.field}" if exc.field else f"models[{index}]") from None


def _read_golden_set(
    decl: GoldenSetDecl, index: int, path: Path, located: Any
) -> tuple[GoldenSet, tuple[str, ...]]:
    notes: tuple[str, ...] = ()
    if decl.cases is not None:
        cases = parse_inline_cases(decl.cases, source=f"{path}: golden_sets[{index}].cases")
    else:
        assert decl.file is not None
        file = (path.parent / decl.file)
        if not file.exists():
            raise GoldenSetError(f"golden set file {file} does not exist (a `file:` path is relative to "
                                 f"{path.name})", file=path, line=line_of(located, ("golden_sets", index, "file")),
                                 field=f"golden_sets[{index}].file")
        if decl.fields is not None:
            mapped = read_mapped(file, fields=decl.fields)
            cases = mapped.cases
            if mapped.generated_ids:
                notes = (f"{mapped.generated_ids} case id(s) generated from the content hash "
                         f"(`fields:` maps no id column, or rows lack it)",)
        else:
            cases = load_cases(file, format=decl.format)
    return GoldenSet(name=decl.name, privacy=decl.privacy, cases=cases), notes


def _read_labels(config: Config, watch: WatchDecl, specs: list[ScorerSpec], golden_set: GoldenSet, index: int,
                 located: Any) -> tuple[JudgeLabel, ...]:
    assert watch.drift.judge_labels is not None
    file = config.path.parent / watch.drift.judge_labels

    def fail(message: str) -> ConfigError:
        line = line_of(located, ("watches", index, "drift", "judge_labels"))
        return ConfigError(message, file=config.path, line=line, field=f"watches[{index}].drift.judge_labels")

    if not file.is_file():
        raise fail(f"judge labels file {file} does not exist (the path is relative to {config.path.name})")
    spec = judged_spec(specs)
    if spec is None:
        raise fail("the watch has no judge or pairwise_judge scorer whose verdicts the labels could check")
    return read_judge_labels(file, case_ids=[case.id for case in golden_set.cases],
                             pairwise=spec.name == "pairwise_judge")


def _check_watch(config: Config, watch: WatchDecl, index: int, located: Any) -> None:
    def fail(message: str, key: str) -> ConfigError:
        return ConfigError(message, file=config.path, line=line_of(located, ("watches", index, key)),
                           field=f"watches[{index}].{key}")

    if watch.golden_set not in config.golden_sets:
        raise fail(f"golden set '{watch.golden_set}' is not declared in golden_sets", "golden_set")
    for key, names in (("production", [watch.production]), ("candidates", watch.candidates)):
        for name in names:
            if name not in config.models:
                raise fail(f"model '{name}' is not declared in models", key)
    try:
        specs = watch.scorer_specs()
    except ConfigError as exc:
        raise fail(exc.reason, "scorers") from None
    for spec in specs:
        for name in judge_models([spec]):
            if name not in config.models:
                # Caught here, not on the worker: a scoring step that cannot build its judge never ends.
                raise fail(f"scorer '{spec.name}': judge model '{name}' is not declared in models", "scorers")
    _, golden_set = config.golden_sets[watch.golden_set]
    labels = watch.drift.judge_labels
    if labels is not None:
        config.judge_labels[watch.name] = _read_labels(config, watch, specs, golden_set, index, located)
    models = [config.models[name] for name in (watch.production, *watch.candidates)]
    judges = [config.models[name] for name in judge_models(specs) if name in config.models]
    violation = check_privacy(watch_name=watch.name, privacy=golden_set.privacy, models=models, judges=judges,
                              allowed_residencies=watch.policy.allowed_residencies,
                              golden_set=golden_set.name)
    if violation is not None:
        raise violation.__class__(violation.reason, file=config.path,
                                  line=line_of(located, ("watches", index)), field=f"watches[{index}]")
