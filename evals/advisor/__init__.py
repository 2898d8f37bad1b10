"""The switch advisor: paired quality, cost at volume, latency and privacy → a `Recommendation`.

Pure: plain values in (`ModelEvidence`, `CandidateEvidence`, `AdvisorPolicy`), a value out;
`announce` folds a cycle's verdict into the announced one (hysteresis).
"""

from evals.advisor.cost import CostComparison, MonthlyCost, TokenMix, break_even, compare_costs, monthly_cost
from evals.advisor.evidence import CandidateEvidence, FailureCounts, ModelEvidence
from evals.advisor.hysteresis import Announcement, Verdict, announce
from evals.advisor.latency import LatencyEvidence
from evals.advisor.policy import AdvisorPolicy, LatencySLO, Volume, parse_policy
from evals.advisor.quality import CandidateQuality, QualityEvidence, quality_from
from evals.advisor.verdict import CandidateAssessment, Recommendation, advise

__all__ = [
    "AdvisorPolicy", "Announcement", "CandidateAssessment", "CandidateEvidence", "CandidateQuality",
    "CostComparison", "FailureCounts", "LatencyEvidence", "LatencySLO", "ModelEvidence", "MonthlyCost",
    "QualityEvidence", "Recommendation", "TokenMix", "Verdict", "Volume", "advise", "announce", "break_even",
    "compare_costs", "monthly_cost", "parse_policy", "quality_from",
]
