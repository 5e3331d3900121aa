"""The screening's order is data: a clinic adds, moves or removes a question in flow.yml alone."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest
import yaml

from bot.screening.content import DEFAULT_CONTENT_DIR, ContentError, ScreeningContent, load_content
from bot.screening.flow import next_step, screening_progress
from tests.bot.screening.shipped_order import CHECKLIST, CI, CI_QUESTIONS, CONTACT, GAD, PHQ

HEALTH_NONE = {**dict.fromkeys(CI_QUESTIONS, "no"), CHECKLIST: ["none"]}

PRIOR_KETAMINE = {
    "section": "treatment_history",
    "kind": "choice",
    "text": "Have you had a ketamine infusion before?",
    "options": [{"value": "yes", "title": "Yes"}, {"value": "no", "title": "No"}],
    "guidance": "Please answer Yes or No.",
}


def fixture_clinic(tmp_path: Path, edit: Callable[[dict], None]) -> ScreeningContent:
    """A copy of data/clinic whose flow.yml `edit` changed, loaded."""
    clinic = tmp_path / "clinic"
    shutil.copytree(DEFAULT_CONTENT_DIR, clinic)
    flow = yaml.safe_load((clinic / "flow.yml").read_text(encoding="utf-8"))
    edit(flow)
    (clinic / "flow.yml").write_text(yaml.safe_dump(flow, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_content(clinic, clinic_name="Haven Ketamine Clinic")


def add_prior_ketamine_after_current_meds(flow: dict) -> None:
    flow["questions"]["prior_ketamine"] = dict(PRIOR_KETAMINE)
    flow["flow"].insert(flow["flow"].index("tx_current_meds") + 1, "prior_ketamine")


def test_a_question_added_to_the_flow_is_asked_where_the_flow_puts_it(tmp_path, order_of):
    data = fixture_clinic(tmp_path, add_prior_ketamine_after_current_meds)
    order = order_of({"prior_ketamine": "yep"}, content=data)
    assert order == [
        "consent",
        "age",
        "concern",
        *GAD,
        *PHQ,
        "tx_antidepressants",
        "tx_therapy",
        "tx_current_meds",
        "prior_ketamine",
        *CI,
        *CONTACT,
    ]
    assert "prior_ketamine" not in order_of()  # the shipped clinic is unchanged
    # its answer is kept with the others, and the lead lists it in conversation order
    assert data.question_order.index("prior_ketamine") == data.question_order.index("tx_current_meds") + 1


def test_the_added_question_is_recorded_and_the_screening_goes_on(tmp_path):
    data = fixture_clinic(tmp_path, add_prior_ketamine_after_current_meds)
    answers = {
        "consent": "yes",
        "concern": "anxiety",
        "age": 30,
        **dict.fromkeys(GAD + PHQ, "not_at_all"),
        "tx_antidepressants": "1",
        "tx_therapy": "yes",
        "tx_current_meds": "none",
    }
    assert next_step(answers, content=data).question.id == "prior_ketamine"
    progress = screening_progress({**answers, "prior_ketamine": "no"}, content=data)
    assert progress.answers["prior_ketamine"] == "no" and progress.next_step.question.id == "ci_pregnancy"
    assert progress.status == "in_progress"


def reorder(flow: dict) -> None:
    steps = flow["flow"]
    consent, age, concern = steps[0], steps[1], steps[2]
    assert concern == "concern" and age["ask"] == "age"
    rest = [
        s
        for s in steps[3:]
        if s not in ("instruments", "contraindications", "tx_antidepressants", "tx_therapy", "tx_current_meds")
    ]
    flow["flow"] = [
        consent,
        concern,
        age,
        "contraindications",
        "tx_current_meds",
        "tx_antidepressants",
        "tx_therapy",
        "instruments",
        *rest,
    ]


def test_a_reordered_flow_is_followed(tmp_path, order_of):
    data = fixture_clinic(tmp_path, reorder)
    order = order_of(content=data)
    assert order == [
        "consent",
        "concern",
        "age",
        *CI,
        "tx_current_meds",
        "tx_antidepressants",
        "tx_therapy",
        *GAD,
        *PHQ,
        *CONTACT,
    ]
    # A section's intro moves with its first question.
    first_tx = next_step({"consent": "yes", "age": 40, "concern": "depression", **HEALTH_NONE}, content=data)
    assert first_tx.question.id == "tx_current_meds"
    assert first_tx.preface == ("Thanks. Next, a few questions about care you have tried before.",)
    # The stops still apply where they now stand: moved after the concern, a minor is stopped after it.
    assert order_of({"age": "16"}, content=data) == ["consent", "concern", "age"]
    assert screening_progress({"consent": "yes", "concern": "ocd", "age": 16}, content=data).status == "minor"


def test_the_age_threshold_is_read_from_the_data(tmp_path):
    def adults_from_21(flow: dict) -> None:
        age = next(s for s in flow["flow"] if isinstance(s, dict) and s.get("ask") == "age")
        age["stop_if_below"] = 21

    data = fixture_clinic(tmp_path, adults_from_21)
    at_20 = screening_progress({"consent": "yes", "concern": "anxiety", "age": 20}, content=data)
    assert (at_20.status, at_20.next_step) == ("minor", None)
    shipped = screening_progress({"consent": "yes", "concern": "anxiety", "age": 20})
    assert shipped.status == "in_progress" and shipped.next_step.question.id == "gad7_1"


def test_outcome_is_told_where_the_flow_says(tmp_path):
    def tell_before_contraindications(flow: dict) -> None:
        flow["flow"].remove("tell_outcome")
        flow["flow"].insert(flow["flow"].index("contraindications"), "tell_outcome")

    data = fixture_clinic(tmp_path, tell_before_contraindications)
    answers = {
        "consent": "yes",
        "concern": "depression",
        "age": 40,
        **dict.fromkeys(GAD + PHQ, "not_at_all"),
        **dict.fromkeys(GAD, "nearly_every_day"),
        "tx_antidepressants": "2_or_more",
        "tx_therapy": "yes",
        "tx_current_meds": "none",
    }
    step = next_step(answers, content=data)
    assert step.question.id == "ci_pregnancy"
    assert "good next step" in step.preface[0]  # the outcome so far, then the section's intro
    assert step.preface[1].startswith("Now some health questions")
    contact = next_step({**answers, **HEALTH_NONE}, content=data)
    assert contact.question.id == "contact_first_name" and contact.preface == ()


def _ask_step(flow: dict, question_id: str) -> dict:
    return next(s for s in flow["flow"] if isinstance(s, dict) and s.get("ask") == question_id)


BROKEN_FLOWS = [
    ("unknown step", lambda f: f["flow"].insert(1, "intsruments"), "unknown step 'intsruments'"),
    (
        "unknown question",
        lambda f: f["flow"].insert(1, {"ask": "prior_ketamine"}),
        "unknown question id 'prior_ketamine'",
    ),
    ("unknown condition", lambda f: _ask_step(f, "age").update(stop_if_under=18), "unknown condition 'stop_if_under'"),
    (
        "unknown outcome",
        lambda f: _ask_step(f, "contact_optin").update(only_if_outcome="ineligible"),
        "only_if_outcome 'ineligible'",
    ),
    (
        "stop answer not an option",
        lambda f: _ask_step(f, "consent").update(stop_unless={"answer": "ok"}),
        "stop_unless answer 'ok'",
    ),
    ("threshold without a source", lambda f: _ask_step(f, "age").pop("source"), "needs a source"),
    (
        "threshold on a choice",
        lambda f: f["flow"].__setitem__(0, {"ask": "consent", "stop_if_below": 1, "source": "x"}),
        "stop_if_below needs a number question",
    ),
    ("unknown status", lambda f: _ask_step(f, "consent").update(status="refused"), "status 'refused'"),
    ("asked twice", lambda f: f["flow"].append("tx_therapy"), "asked more than once: tx_therapy"),
    ("no contact consent", lambda f: f["flow"].remove("contact_consent"), "must ask contact_consent"),
    ("question never asked", lambda f: f["flow"].remove("tx_therapy"), "never asked: tx_therapy"),
    (
        "defined but not in the flow",
        lambda f: f["questions"].update(prior_ketamine=dict(PRIOR_KETAMINE)),
        "never asked: prior_ketamine",
    ),
    ("not a list", lambda f: f.update(flow={"consent": True}), "must be a list of steps"),
]


@pytest.mark.parametrize("edit,message", [(e, m) for _, e, m in BROKEN_FLOWS], ids=[n for n, _, _ in BROKEN_FLOWS])
def test_a_broken_flow_fails_to_load_with_a_clear_message(tmp_path, edit, message):
    with pytest.raises(ContentError, match="flow.yml") as error:
        fixture_clinic(tmp_path, edit)
    assert message in str(error.value)
