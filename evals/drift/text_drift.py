"""Evidently's text drift for small references, with its null distribution drawn in one step.

For a reference of at most 1,000 answers Evidently tests the text column with its "percentile text
content drift": a domain classifier (TF-IDF + SGD) tells current from reference answers, and its ROC
AUC on a held-out half is compared with the 95th percentile of the AUCs of 1,000 random classifiers,
each computed by a separate `sklearn.metrics.roc_auc_score` call (about 2.5 ms each, three times per
report: 7-8 s of CPU for 40 answers). The AUC of uniform random scores depends only on the ranks, so
the same 1,000 AUCs are computed here from one matrix of random ranks; the domain classifier, the split
and the decision rule are Evidently's own. Imported only where a report is built.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "turnout_perc_text_content_drift"
"""The registered test's name, passed to `DataDriftPreset(text_method=...)`."""

ITERATIONS = 1000
"""Random classifiers behind the percentile, as in Evidently."""

SMALL = 1000
"""Evidently uses the percentile test up to this many reference rows, a fixed AUC threshold above."""

_registered = False


def _random_auc_percentile(labels: np.ndarray, *, p_value: float, seed: int = 42) -> float:
    """The (1 - p_value) percentile of the ROC AUC of ITERATIONS random uniform scorings of *labels*."""
    positive = labels == 1
    n1, n0 = int(positive.sum()), int((~positive).sum())
    ranks = np.random.default_rng(seed).random((ITERATIONS, labels.size)).argsort(axis=1).argsort(axis=1) + 1
    aucs = (ranks[:, positive].sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)
    return float(np.percentile(aucs, 100 * (1 - p_value)))


def _perc_text_drift(reference: Any, current: Any, feature_type: Any, threshold: float) -> tuple[float, bool]:
    import pandas as pd
    from evidently.legacy.utils.data_drift_utils import calculate_text_drift_score, roc_auc_domain_classifier
    from sklearn.model_selection import train_test_split

    domain = pd.concat([pd.DataFrame({"text": reference, "target": 0}), pd.DataFrame({"text": current, "target": 1})])
    x_train, x_test, y_train, y_test = train_test_split(domain["text"], domain["target"], test_size=0.5,
                                                        random_state=42, shuffle=True)
    labels = np.asarray(y_test)
    if labels.min() == labels.max():  # one class in the held-out half: Evidently's own path says why
        result: tuple[float, bool] = calculate_text_drift_score(reference, current, bootstrap=True,
                                                                p_value=1 - threshold)
        return result
    auc, _, _ = roc_auc_domain_classifier(x_train, x_test, y_train, y_test)
    return float(auc), bool(auc > _random_auc_percentile(labels, p_value=1 - threshold))


def text_method(reference_rows: int) -> str | None:
    """The text drift method to give the preset: this one where Evidently would use its percentile test
    (registered on first use), None (Evidently's default) for larger references."""
    global _registered
    if reference_rows > SMALL:
        return None
    if not _registered:
        from evidently.legacy.calculations.stattests.registry import StatTest, register_stattest
        from evidently.legacy.core import ColumnType

        test = StatTest(name=NAME, display_name="Percentile text content drift",
                        allowed_feature_types=[ColumnType.Text], default_threshold=0.95)
        register_stattest(test, _perc_text_drift)
        _registered = True
    return NAME
