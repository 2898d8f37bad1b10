"""turnout.yaml: the declarations of golden sets, models and watches, checked before anything is stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Annotated, Any, Literal

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
from evals.providers.sim_options import sim_options
from evals.providers.vllm_batch import engine_args, sampling_args
from evals.scoring.coverage import describe, ungraded_checks
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
    sample_cases: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    """Candidate name -> how many cases it replays each cycle: a sample stratified by tags, the same in
    every cycle of a golden-set version (`evals.sampling`); it is compared with production on those only."""

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
        check_model(model, file=path, located=located, loc=("models", index))
    golden_sets: dict[str, tuple[GoldenSetDecl, GoldenSet]] = {}
    notes: dict[str, tuple[str, ...]] = {}
    for index, decl in enumerate(declared.golden_sets):
        golden_set, read_notes = read_golden_set(decl, base=path.parent, allow_unsupported=allow_unsupported,
                                                 file=path, located=located, loc=("golden_sets", index))
        golden_sets[decl.name] = (decl, golden_set)
        notes[decl.name] = read_notes
    config = Config(path=path, golden_sets=golden_sets,
                    models={m.name: m for m in declared.models},
                    watches={w.name: w for w in declared.watches}, notes=notes)
    privacy = {name: golden_set.privacy for name, (_, golden_set) in golden_sets.items()}
    for index, watch in enumerate(declared.watches):
        check_watch(watch, privacy=privacy, models=config.models, base=path.parent, file=path, located=located,
                    loc=("watches", index))
        _check_graded(config, watch, index, located, allowed=allow_unsupported)
        if watch.drift.judge_labels is not None:
            config.judge_labels[watch.name] = _read_labels(config, watch, index, located)
    return config


def _check_graded(config: Config, watch: WatchDecl, index: int, located: Any, *, allowed: bool) -> None:
    """Refuse a watch whose scorers leave some of its golden set's checks ungraded (or note it, when allowed)."""
    decl, golden_set = config.golden_sets[watch.golden_set]
    gaps = ungraded_checks(golden_set, watch.scorer_specs())
    if not gaps:
        return
    sentence = describe(watch.name, golden_set.name, gaps)
    if allowed or decl.allow_unsupported:
        note = f"{sentence}; imported as allowed, so its scores leave those checks out"
        config.notes[golden_set.name] = (*config.notes.get(golden_set.name, ()), note)
        return
    raise ConfigError(f"{sentence}; add them to `scorers`, or leave those checks ungraded with "
                      "`turnout apply --allow-unsupported` (or `allow_unsupported: true` on the golden set)",
                      file=config.path, line=line_of(located, ("watches", index, "scorers")),
                      field=f"watches[{index}].scorers")


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


def check_model(model: ModelSpec, *, file: str | Path | None = None, located: Any = None,
                loc: tuple[str | int, ...] = ()) -> None:
    """Refuse at `apply` what a worker would refuse at run time: `kind: vllm` params and options, `kind: sim` options.

    Args:
        model: The declaration, already valid as a `ModelSpec`.
        file: Where it was declared, for the message (None for an API request body).
        located: The parsed YAML with lines, when there is a file.
        loc: Where the model sits in it (`("models", 2)`); empty for a request body.
    """
    if model.kind not in ("vllm", "sim"):
        return
    try:
        if model.kind == "sim":
            sim_options(model.options)
        else:
            sampling_args(model)
            engine_args(model)
    except ConfigError as exc:
        parts = tuple(int(part) if part.isdigit() else part for part in (exc.field or "").split(".") if part)
        raise ConfigError(exc.reason, file=file, line=line_of(located, (*loc, *parts)),
                          field=field_name((*loc, *parts)) or None) from None


def read_golden_set(
    decl: GoldenSetDecl, *, base: Path, allow_unsupported: bool = False, file: str | Path | None = None,
    located: Any = None, loc: tuple[str | int, ...] = (),
) -> tuple[GoldenSet, tuple[str, ...]]:
    """Read a golden set's cases (inline, or its `file:` under *base*) and check Turnout can run its asserts.

    Args:
        decl: The declaration, as in turnout.yaml.
        base: The directory its `file:` is relative to.
        allow_unsupported: `--allow-unsupported`: import asserts Turnout cannot run as unscorable.
        file: Where *decl* was written, for the messages (None for an API request body).
        located: The parsed YAML with lines, when there is a file.
        loc: Where *decl* sits in it (`("golden_sets", 0)`); empty for a request body.

    Returns:
        The golden set and the notes for `apply`'s output.

    Raises:
        ConfigError: naming file, line and field; ConfigProblems with every problem when there are several.
    """
    notes: tuple[str, ...] = ()
    where = field_name((*loc, "cases"))
    if decl.cases is not None:
        cases = parse_inline_cases(decl.cases, source=f"{file}: {where}" if file is not None else where)
    else:
        assert decl.file is not None
        path = (base / decl.file)
        if not path.exists():
            named = f" (a `file:` path is relative to {Path(file).name})" if file is not None else ""
            raise GoldenSetError(f"golden set file {path} does not exist{named}", file=file,
                                 line=line_of(located, (*loc, "file")), field=field_name((*loc, "file")))
        if decl.fields is not None:
            mapped = read_mapped(path, fields=decl.fields)
            cases = mapped.cases
            if mapped.generated_ids:
                notes = (f"{mapped.generated_ids} case id(s) generated from the content hash "
                         f"(`fields:` maps no id column, or rows lack it)",)
        else:
            cases = load_cases(path, format=decl.format)
    golden_set = GoldenSet(name=decl.name, privacy=decl.privacy, cases=cases)
    notes += check_supported(golden_set, allowed=allow_unsupported or decl.allow_unsupported,
                             file=decl.file or (f"{file}: {where}" if file is not None else where))
    return golden_set, notes


def _read_labels(config: Config, watch: WatchDecl, index: int, located: Any) -> tuple[JudgeLabel, ...]:
    """Read and check the judge labels of a watch checked by `check_watch` (so its scorers parse)."""
    assert watch.drift.judge_labels is not None
    specs = watch.scorer_specs()
    _, golden_set = config.golden_sets[watch.golden_set]
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


def check_watch(watch: WatchDecl, *, privacy: Mapping[str, Privacy], models: Mapping[str, ModelSpec],
                base: Path | None = None, file: str | Path | None = None, located: Any = None,
                loc: tuple[str | int, ...] = ()) -> None:
    """Check a watch against the golden sets and models it names, as `turnout apply` does.

    Args:
        watch: The declaration, already valid as a `WatchDecl`.
        privacy: The privacy class of every golden set it may name, by name.
        models: Every model it may name, by name.
        base: The directory of turnout.yaml (None for an API request body: no file can be read).
        file: Where *watch* was written, for the messages (None for an API request body).
        located: The parsed YAML with lines, when there is a file.
        loc: Where *watch* sits in it (`("watches", 0)`); empty for a request body.

    Raises:
        ConfigError: a name that is not declared, a judge model missing, a bad scorer.
        PolicyViolation: a model (or judge) the golden set's privacy class forbids.
    """
    def fail(message: str, *keys: str) -> ConfigError:
        return ConfigError(message, file=file, line=line_of(located, (*loc, *keys)),
                           field=field_name((*loc, *keys)))

    if watch.golden_set not in privacy:
        raise fail(f"golden set '{watch.golden_set}' is not declared in golden_sets", "golden_set")
    for key, names in (("production", [watch.production]), ("candidates", watch.candidates)):
        for name in names:
            if name not in models:
                raise fail(f"model '{name}' is not declared in models", key)
    for name in watch.sample_cases:
        if name == watch.production:
            raise fail(f"'{name}' is the production model, which answers every case (each candidate is paired "
                       "with its answers); give a sample to candidates only", "sample_cases", name)
        if name not in watch.candidates:
            raise fail(f"'{name}' is not a candidate of this watch (candidates: "
                       f"{', '.join(watch.candidates) or 'none'})", "sample_cases", name)
    try:
        specs = watch.scorer_specs()
    except ConfigError as exc:
        raise fail(exc.reason, "scorers") from None
    for spec in specs:
        for name in judge_models([spec]):
            if name not in models:
                # Caught here, not on the worker: a scoring step that cannot build its judge never ends.
                raise fail(f"scorer '{spec.name}': judge model '{name}' is not declared in models", "scorers")
    labels = watch.drift.judge_labels
    if labels is not None and (base is None or not (base / labels).is_file()):
        where = "the path is relative to turnout.yaml" if base is None else f"the path is relative to {base}"
        raise fail(f"judge labels file {labels} does not exist ({where})", "drift", "judge_labels")
    chosen = [models[name] for name in (watch.production, *watch.candidates)]
    judges = [models[name] for name in judge_models(specs) if name in models]
    violation = check_privacy(watch_name=watch.name, privacy=privacy[watch.golden_set], models=chosen, judges=judges,
                              allowed_residencies=watch.policy.allowed_residencies,
                              golden_set=watch.golden_set)
    if violation is not None:
        raise violation.__class__(violation.reason, file=file, line=line_of(located, loc),
                                  field=field_name(loc) or None)
