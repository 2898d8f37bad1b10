"""The drift verdict on planted changes: each is `drifted` with its own reason; no change is `stable`."""

from __future__ import annotations

import pytest

from evals.drift.signals import CaseRecord, RunSample
from evals.drift.verdict import FIRST_RUN, DataDrift, check_drift
from evals.errors import BadReference
from evals.pairing import ScoreTable

KEYS = [f"case{i:02d}" for i in range(40)]
FR = set(KEYS[:20])


def sample(run_id: int, *, fr_score: float = 1.0, suffix: str = "", fingerprint: str = "fp_1",
           served: str = "gpt-4o", keys: list[str] = KEYS) -> RunSample:
    values = {key: [fr_score if key in FR else 1.0] for key in keys}
    tags = {key: ["lang:fr" if key in FR else "lang:en"] for key in keys}
    cases = {key: CaseRecord(output=f"answer {key}{suffix}", score=values[key][0]) for key in keys}
    return RunSample(run_id=run_id, scores=ScoreTable(values=values, tags=tags), cases=cases,
                     fingerprints=frozenset({fingerprint}), served_models=frozenset({served}))


def test_a_first_run_is_the_reference_and_stable() -> None:
    check = check_drift(current=sample(1), references=[])

    assert check.verdict == "stable" and [r.message for r in check.reasons] == [FIRST_RUN]


def test_an_unchanged_run_is_stable() -> None:
    check = check_drift(current=sample(3), references=[sample(1), sample(2)])

    assert check.verdict == "stable" and check.reasons == ()
    assert check.output_change is not None and check.output_change.rate == 0.0
    assert check.comparison is not None and check.comparison.difference == 0.0


@pytest.mark.parametrize(("current", "kinds"), [
    (sample(3, fr_score=0.0), {"score", "segment_score"}),     # every French case fails now
    (sample(3, fingerprint="fp_2"), {"fingerprint"}),
    (sample(3, served="gpt-4o-2025"), {"served_model"}),
    (sample(3, suffix=" and much more text"), {"output_change"}),
])
def test_a_planted_change_drifts_with_its_reason(current: RunSample, kinds: set[str]) -> None:
    check = check_drift(current=current, references=[sample(1), sample(2)])

    assert check.verdict == "drifted" and {reason.kind for reason in check.reasons} == kinds


def test_changed_answers_are_no_signal_when_the_model_samples() -> None:
    check = check_drift(current=sample(3, suffix="!"), references=[sample(1)], deterministic=False)

    assert check.verdict == "stable"
    assert check.output_change is not None and check.output_change.rate == 1.0


def test_changes_the_references_show_themselves_are_expected() -> None:
    # the endpoint rewrites a tenth of its answers between any two runs
    def noisy(run_id: int) -> RunSample:
        base = sample(run_id)
        cases = {key: CaseRecord(output=f"{record.output} {run_id}" if i % 10 == run_id % 10 else record.output)
                 for i, (key, record) in enumerate(base.cases.items())}
        return RunSample(run_id=run_id, scores=base.scores, cases=cases, fingerprints=base.fingerprints,
                         served_models=base.served_models)

    check = check_drift(current=noisy(4), references=[noisy(1), noisy(2), noisy(3)])

    assert check.output_change is not None and check.output_change.expected_rate == pytest.approx(0.2)
    assert check.verdict == "stable"


def test_a_drift_share_over_the_threshold_drifts() -> None:
    data = DataDrift(drift_share=0.6, drifted_columns=("output_length", "output_tokens"))

    check = check_drift(current=sample(3), references=[sample(1)], data_drift=data)

    assert [reason.kind for reason in check.reasons] == ["data_drift"]
    assert "output_length" in check.reasons[0].message


def test_a_new_golden_set_version_is_compared_on_its_unchanged_cases() -> None:
    check = check_drift(current=sample(3, keys=KEYS[:30] + ["new1"]), references=[sample(1)])

    assert check.comparison is not None and check.comparison.n_pairs == 30 and check.verdict == "stable"


def test_a_reference_sharing_no_case_is_a_clear_error() -> None:
    with pytest.raises(BadReference, match="reference run.s. 1 share no scored case with run 3"):
        check_drift(current=sample(3), references=[sample(1, keys=["other"])])


def test_a_probe_rejection_drifts_and_its_p_value_is_printed() -> None:
    from evals.drift.mmd import MMDResult

    rejected = MMDResult(statistic=0.05, p_value=0.001, n_current=200, n_reference=200, n_prompts=20,
                         permutations=1000)
    kept = MMDResult(statistic=0.0, p_value=0.4, n_current=200, n_reference=200, n_prompts=20, permutations=1000)

    drifted = check_drift(current=sample(3), references=[sample(1)], probe=rejected, probe_alpha=0.01)
    stable = check_drift(current=sample(3), references=[sample(1)], probe=kept, probe_alpha=0.01)

    assert [reason.kind for reason in drifted.reasons] == ["probe"] and "p = 0.0010" in drifted.reasons[0].message
    assert stable.verdict == "stable" and stable.to_dict()["probe_p"] == 0.4
    assert drifted.to_dict()["probe"]["n_prompts"] == 20
    assert check_drift(current=sample(3), references=[sample(1)]).to_dict()["probe_p"] is None
