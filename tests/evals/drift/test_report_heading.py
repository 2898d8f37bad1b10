"""The heading of a drift report page: whose model (labelled when simulated), the verdict and its reasons."""

from __future__ import annotations

from evals.drift.report import ReportHeading


def test_a_simulated_model_is_labelled_and_every_text_escaped() -> None:
    heading = ReportHeading(model="api<1>", watch="w", cycle_id=4, verdict="drifted",
                            reasons=("fingerprint changed from fp_1 to fp_2", "<script>"), simulated=True)
    html = heading.html()
    assert "<h1>Drift of api&lt;1&gt; (simulated): drifted</h1>" in html
    assert "<li>fingerprint changed from fp_1 to fp_2</li>" in html and "&lt;script&gt;" in html
    assert "simulated model" in html


def test_a_real_model_is_not_labelled() -> None:
    html = ReportHeading(model="gpt", watch="w", cycle_id=1, verdict="stable").html()
    assert "simulated" not in html
