"""`apply` is idempotent, versions golden sets by content, soft-deletes with --prune; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from evals.config import load_config
from service.storage import catalog, runs
from service.storage.db import session_scope
from service.storage.tables import CaseRow, GoldenSetVersionRow, RunRow, WatchRow

CONFIG = """\
golden_sets:
  - {name: qa, file: qa.jsonl, privacy: internal}
models:
  - {name: prod, base_url: "http://127.0.0.1:1/v1", model: m1, hosting: self_hosted}
  - {name: cand, base_url: "http://127.0.0.1:1/v1", model: m2, hosting: self_hosted}
watches:
  - {name: w, golden_set: qa, production: prod, candidates: [cand], scorers: [exact_match], schedule: "0 6 * * *"}
"""


def write(tmp_path: Path, *, cases: str = '{"id": "a", "input": "1+1?", "expected": "2"}\n',
          config: str = CONFIG) -> Path:
    (tmp_path / "qa.jsonl").write_text(cases)
    path = tmp_path / "turnout.yaml"
    path.write_text(config)
    return path


def apply(path: Path, *, prune: bool = False, dry_run: bool = False) -> dict[str, str]:
    with session_scope() as session:
        changes = catalog.apply_config(session, config=load_config(path), prune=prune)
        if dry_run:
            session.rollback()
    return {f"{c.kind}:{c.name}": c.action for c in changes}


def test_apply_creates_then_reports_unchanged(database_url: str, tmp_path: Path) -> None:
    path = write(tmp_path)
    assert apply(path) == {"golden_set:qa": "created", "model:prod": "created", "model:cand": "created",
                           "watch:w": "created"}
    assert set(apply(path).values()) == {"unchanged"}


def test_dry_run_changes_nothing(database_url: str, tmp_path: Path) -> None:
    assert apply(write(tmp_path), dry_run=True)["watch:w"] == "created"
    with session_scope() as session:
        assert session.exec(select(WatchRow)).all() == []


def test_changed_cases_make_a_new_version_and_keep_the_old_one(database_url: str, tmp_path: Path) -> None:
    path = write(tmp_path)
    apply(path)
    with session_scope() as session:
        cycle = runs.create_cycle(session, watch_name="w", trigger="cli")
        first_version = cycle.golden_set_version_id
    write(tmp_path, cases='{"id": "a", "input": "1+1?", "expected": "2"}\n'
                          '{"id": "b", "input": "2+2?", "expected": "4"}\n')
    assert apply(path)["golden_set:qa"] == "updated"
    with session_scope() as session:
        versions = session.exec(select(GoldenSetVersionRow).order_by(GoldenSetVersionRow.id)).all()
        assert [v.n_cases for v in versions] == [1, 2]
        assert versions[0].id == first_version and versions[0].used_at is not None
        # the unchanged case has the same content hash in both versions, so runs can be paired on it
        hashes = {(row.version_id, row.case_key): row.content_hash for row in session.exec(select(CaseRow))}
        assert hashes[(versions[0].id, "a")] == hashes[(versions[1].id, "a")]
        second = runs.create_cycle(session, watch_name="w", trigger="cli")
        assert second.golden_set_version_id == versions[1].id


def test_prune_soft_deletes_and_keeps_runs(database_url: str, tmp_path: Path) -> None:
    path = write(tmp_path)
    apply(path)
    with session_scope() as session:
        runs.create_cycle(session, watch_name="w", trigger="cli")
    without_watch = CONFIG.split("watches:")[0]
    path.write_text(without_watch.replace("  - {name: cand", "  # - {name: cand"))
    assert apply(path) == {"golden_set:qa": "unchanged", "model:prod": "unchanged"}  # no prune: nothing deleted
    assert apply(path, prune=True) == {"golden_set:qa": "unchanged", "model:prod": "unchanged",
                                       "watch:w": "deleted", "model:cand": "deleted"}
    with session_scope() as session:
        assert [w.name for w in catalog.list_watches(session)] == []
        assert [m.name for m in catalog.list_models(session)] == ["prod"]
        assert len(session.exec(select(RunRow)).all()) == 2  # history stays
    path.write_text(CONFIG)
    assert apply(path)["watch:w"] == "restored"


def test_scheduled_cycle_is_unique_per_slot(database_url: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime
    apply(write(tmp_path))
    slot = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    with session_scope() as session:
        first = runs.create_cycle(session, watch_name="w", trigger="schedule", scheduled_for=slot).id
    with session_scope() as session:
        second = runs.create_cycle(session, watch_name="w", trigger="schedule", scheduled_for=slot).id
        assert first == second
        assert len(session.exec(select(RunRow)).all()) == 2
