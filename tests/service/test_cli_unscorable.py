"""A run says how many cases were unscorable because of asserts imported with --allow-unsupported."""

from __future__ import annotations

import json
import re
from pathlib import Path

from service.cli import output
from service.storage.db import session_scope
from service.storage.public import RunResultsPublic
from service.storage.results import run_results
from service.storage.summary import cycle_summary
from tests.peers.openai_peer import OpenAIPeer
from tests.service.test_cli import turnout

PROMPTFOO = """\
# Written for this test: one case with a check Turnout cannot run, two it can.
prompts: ["{{question}}"]
tests:
  - description: json
    vars: {question: "Give JSON\\nANSWER: {\\"a\\": 1}"}
    assert:
      - type: is-json
      - type: javascript
        value: JSON.parse(output).a === 1
  - description: paris
    vars: {question: "Capital of France?\\nANSWER: Paris"}
    assert:
      - type: contains
        value: Paris
  - description: rome
    vars: {question: "Capital of Italy?\\nANSWER: Rome"}
    assert:
      - type: contains
        value: Rome
"""

CONFIG = """\
golden_sets:
  - {{name: pf, file: promptfooconfig.yaml, format: promptfoo}}
models:
  - {{name: prod, base_url: "{url}", model: prod-model, max_retries: 0, timeout_s: 5}}
watches:
  - {{name: pf-watch, golden_set: pf, production: prod, scorers: [asserts]}}
"""


def test_run_results_and_summary_count_cases_unscorable_for_unsupported_asserts(database_url: str,
                                                                                tmp_path: Path) -> None:
    with OpenAIPeer(models=["prod-model"]) as peer:
        (tmp_path / "promptfooconfig.yaml").write_text(PROMPTFOO, encoding="utf-8")
        config = tmp_path / "turnout.yaml"
        config.write_text(CONFIG.format(url=peer.base_url), encoding="utf-8")
        applied = turnout("apply", "-f", str(config), "--allow-unsupported", database_url=database_url)
        assert applied.returncode == 0, applied.stderr
        assert "note: golden set pf: 1 case(s) carry asserts Turnout cannot run (javascript x1)" in applied.stdout

        # `turnout run` says it under the table
        ran = turnout("run", "pf-watch", database_url=database_url)
        assert ran.returncode == 0, ran.stderr
        found = re.search(r"cycle (\d+) of pf-watch", ran.stdout)
        assert found is not None, ran.stdout
        assert re.search(r"run \d+ \(prod\): 1 case unscorable: unsupported asserts", ran.stdout), ran.stdout

    # The run summary (`turnout run --json`, the API) counts them apart from the mean
    with session_scope() as session:
        (run,) = cycle_summary(session, cycle_id=int(found.group(1))).runs
    assert run.unscorable == {"unsupported asserts": 1}
    assert run.score_mean == 1.0  # the two scorable cases; the third is counted apart, not scored as 1.0

    # `turnout results` too, in JSON and under its table
    shown = turnout("results", str(run.run_id), "--json", database_url=database_url)
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["unscorable"] == {"unsupported asserts": 1}
    assert {case["case_id"]: case["scores"]["asserts"] for case in document["cases"]} == {
        "json": None, "paris": 1.0, "rome": 1.0}
    with session_scope() as session:
        assert "1 case unscorable: unsupported asserts" in _printed(run_results(session, run_id=run.run_id))


def _printed(document: RunResultsPublic) -> str:
    with output._stdout.capture() as captured:  # what `turnout results` prints, in this process
        output.print_results(document)
    return captured.get()
