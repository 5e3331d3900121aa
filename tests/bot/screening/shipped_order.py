"""The shipped clinic's question ids by section, in the order data/clinic/flow.yml asks them: what the flow
tests expect. One list for every test that walks the shipped flow."""

from __future__ import annotations

GAD = [f"gad7_{i}" for i in range(1, 8)]
PHQ = [f"phq9_{i}" for i in range(1, 10)]
TX = ["tx_antidepressants", "tx_therapy", "tx_current_meds"]
# The absolute items, one plain question each, then the one checklist of review-only items.
CI_QUESTIONS = [
    "ci_pregnancy",
    "ci_psychosis",
    "ci_mania",
    "ci_hypertension",
    "ci_heart_recent",
    "ci_heart_unstable",
    "ci_aneurysm",
    "ci_ketamine_reaction",
]
CHECKLIST = "ci_checklist"
CI = [*CI_QUESTIONS, CHECKLIST]
# Consent, then age before anything about health (no health information from a minor), then the concern.
START = ["consent", "age", "concern"]
CONTACT = [
    "contact_first_name",
    "contact_phone",
    "contact_email",
    "contact_method",
    "contact_best_time",
    "contact_consent",
]
