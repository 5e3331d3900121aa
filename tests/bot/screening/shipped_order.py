"""The shipped clinic's question ids by section, in the order data/clinic/flow.yml asks them: what the flow
tests expect. One list for every test that walks the shipped flow."""

from __future__ import annotations

GAD = [f"gad7_{i}" for i in range(1, 8)]
PHQ = [f"phq9_{i}" for i in range(1, 10)]
TX = ["tx_antidepressants", "tx_therapy", "tx_current_meds"]
CI = [
    "ci_pregnancy",
    "ci_psychosis",
    "ci_bipolar",
    "ci_hypertension",
    "ci_heart",
    "ci_substance",
    "ci_ketamine_reaction",
    "ci_liver",
    "ci_pressure",
    "ci_thyroid",
]
CONTACT = [
    "contact_first_name",
    "contact_phone",
    "contact_email",
    "contact_method",
    "contact_best_time",
    "contact_consent",
]
