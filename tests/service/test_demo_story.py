"""The demo's pieces that need no model: its schedule in accelerated time, its turnout.yaml, its workspace."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from rich.console import Console

from evals.config import load_config
from evals.cron import check_cron, cron_fields
from evals.errors import ConfigError
from service.cli.demo import MARKER, prepare_workspace
from service.cli.demo.golden import demo_cases, write_golden_set
from service.cli.demo.progress import RunBars, _say_changes, _say_overlap
from service.cli.demo.story import (
    OPEN_GPU,
    PRODUCTION,
    SMOLLM2,
    SMOLLM2_MIN_SAMPLE,
    SMOLLM2_SAMPLE,
    TARGET_PERIOD_S,
    WATCH,
    cycle_estimate_s,
    plan_schedule,
    smollm2_sample,
    story,
    story_yaml,
)
from service.storage.public import CycleStatusPublic, RunProgressPublic

NOW = datetime(2026, 12, 2, 10, 0, 57, 300000, tzinfo=UTC)


@pytest.mark.parametrize("cycle_s", [7, 11, 25, 45, 60, 61, 150])
def test_the_cron_line_fires_at_the_first_slot_and_every_period_after(cycle_s: float) -> None:
    schedule = plan_schedule(NOW, cycle_s=cycle_s)
    check_cron(schedule.cron)
    assert schedule.period_s >= cycle_s
    trigger = CronTrigger(timezone="UTC", **cron_fields(schedule.cron))
    fired, previous = [], None
    moment = NOW
    for _ in range(5):
        moment = trigger.get_next_fire_time(previous, moment)
        fired.append(moment)
        previous, moment = moment, moment + timedelta(microseconds=1)
    assert fired == [schedule.slot(k) for k in range(1, 6)]
    assert timedelta(seconds=3) < fired[0] - NOW < timedelta(seconds=7)


def test_the_story_is_a_valid_turnout_yaml_with_the_stand_ins_simulated(tmp_path: Path) -> None:
    n = write_golden_set(tmp_path / "golden" / "support.jsonl")
    schedule = plan_schedule(NOW, cycle_s=40)
    document = story(base_url="http://127.0.0.1:9/v1", schedule=schedule, update_at=schedule.slot(3))
    (tmp_path / "turnout.yaml").write_text(story_yaml(document, period_s=schedule.period_s, openai_model=None))
    config = load_config(tmp_path / "turnout.yaml")
    assert n == len(demo_cases()) == 72
    assert {m.name for m in config.models.values() if m.simulated} == {PRODUCTION, OPEN_GPU}
    assert not config.models[SMOLLM2].simulated
    watch = config.watches[WATCH]
    assert watch.policy.critical_segments == ("lang:fr",) and watch.policy.margin == 0.1
    _, golden = config.golden_sets["support"]
    tags = [tag for case in golden.cases for tag in case.tags]
    assert tags.count("lang:fr") == 30 and tags.count("doc:long") == 12
    assert len({case.cluster for case in golden.cases if case.cluster}) == 3
    # SmolLM2 answers a sample each cycle; the simulated models answer every case
    assert watch.sample_cases == {SMOLLM2: SMOLLM2_SAMPLE}


@pytest.mark.parametrize(("per_case", "sample", "period"), [
    (0.3, SMOLLM2_SAMPLE, 30),                # an idle machine: the whole sample, cycles every 30 s
    (1.26, 23, TARGET_PERIOD_S),              # measured here under load: a case fewer keeps the minute
    (1.9, 15, TARGET_PERIOD_S),
    (4.0, SMOLLM2_MIN_SAMPLE, 120),           # slower still: the sample stops shrinking, the period grows
])
def test_smollm2s_sample_is_sized_so_a_cycle_fits_its_period(per_case: float, sample: int, period: int) -> None:
    chosen = smollm2_sample(seconds_per_case=per_case, cases=72)
    assert chosen == sample
    assert plan_schedule(NOW, cycle_s=cycle_estimate_s(cases=chosen, seconds_per_case=per_case)).period_s == period
    assert smollm2_sample(seconds_per_case=per_case, cases=10) == 10  # never more than the golden set


def test_a_real_openai_model_replaces_the_production_stand_in() -> None:
    schedule = plan_schedule(NOW, cycle_s=40)
    document = story(base_url="http://127.0.0.1:9/v1", schedule=schedule, update_at=NOW, openai_model="gpt-4o-mini")
    production = document["models"][0]
    assert production["kind"] == "openai" and production["api_key_env"] == "OPENAI_API_KEY"


def test_the_workspace_is_emptied_only_when_it_is_a_demo_workspace(tmp_path: Path) -> None:
    folder = prepare_workspace(tmp_path / "demo")
    (folder / "turnout.db").write_text("old")
    assert not (prepare_workspace(folder) / "turnout.db").exists()
    assert (folder / MARKER).exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not a demo workspace"):
        prepare_workspace(mine)
    assert (mine / "notes.txt").read_text() == "keep me"


def _cycle(cycle_id: int, state: str, step: str, smollm2_done: int) -> CycleStatusPublic:
    runs = [RunProgressPublic(run_id=cycle_id * 10 + 1, model=PRODUCTION, simulated=True, role="production",
                              state="finished", done=72, total=72, errors=0),
            RunProgressPublic(run_id=cycle_id * 10 + 2, model=SMOLLM2, role="candidate",
                              state="finished" if smollm2_done == 24 else "running", done=smollm2_done, total=24,
                              errors=0)]
    return CycleStatusPublic(cycle_id=cycle_id, watch=WATCH, state=state, step=step, reason=None, failure_kind=None,
                             trigger="schedule", scheduled_for=NOW, created_at=NOW, runs=runs)


def test_the_progress_shows_each_runs_cases_and_its_cycle() -> None:
    # given a terminal console and a cycle whose SmolLM2 run has answered 7 of its 24 cases
    console = Console(record=True, width=120, force_terminal=True)
    bars = RunBars(console)
    bars.update([_cycle(1, "running", "replay", 7)], wanted=3)
    console.print(bars.progress.get_renderable())
    # then a bar per run says which cycle, which model (simulated ones labelled) and how many cases are done
    text = console.export_text()
    assert re.search(r"cycle 1/3 \(#1\) smollm2 .* 7/24 cases\s+running", text), text
    assert re.search(r"cycle 1/3 \(#1\) support-api \(simulated\) .* 72/72 cases\s+finished", text), text
    # and the next case moves the bar on
    bars.update([_cycle(1, "running", "replay", 8)], wanted=3)
    console.print(bars.progress.get_renderable())
    assert "8/24 cases" in console.export_text()


def test_a_log_gets_each_change_of_state_and_a_cycle_fired_over_the_last_one_is_said() -> None:
    console = Console(record=True, width=200)
    said: dict[str, tuple[str, float]] = {}
    _say_changes([_cycle(1, "running", "replay", 0)], wanted=3, said=said, console=console)
    _say_changes([_cycle(1, "running", "replay", 24)], wanted=3, said=said, console=console)  # at once: finished
    _say_overlap([_cycle(1, "running", "analyze", 24)],
                 [_cycle(1, "running", "analyze", 24), _cycle(2, "running", "replay", 0)], console=console)
    text = console.export_text()
    assert "cycle 1, smollm2: running, 0/24 cases" in text and "cycle 1, smollm2: finished, 24/24 cases" in text
    assert "note: cycle 2 fired while cycle 1 was still in step analyze" in text
