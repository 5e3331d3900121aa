"""Medicines found in the visitor's own list against data/clinic/medications.yml, misspellings included."""

from __future__ import annotations

import shutil

import pytest
import yaml

from bot.screening.content import DEFAULT_CONTENT_DIR, ContentError, content, load_content
from bot.screening.medications import interacting_groups, matches

# Realistic answers to "What medicines do you take now?" and the groups a clinician must see.
MEDICINE_LISTS = [
    # exact generic and brand names
    ("Xanax 0.5mg as needed", ["benzodiazepine"]),
    ("adderall", ["stimulant"]),
    ("Lamictal 100", ["lamotrigine"]),
    ("lamotrigine 200 mg", ["lamotrigine"]),
    ("phenelzine", ["MAOI"]),
    ("oxycodone after surgery", ["opioid"]),
    ("Vyvanse 40mg and Zoloft 100mg", ["stimulant"]),
    ("suboxone strips", ["opioid"]),
    ("Emsam patch", ["MAOI"]),
    ("Ritalin, Klonopin", ["stimulant", "benzodiazepine"]),
    ("tramadol for my back", ["opioid"]),
    ("Tylenol 3 sometimes", ["opioid"]),
    # common misspellings
    ("aderall 20mg", ["stimulant"]),
    ("adderal xr", ["stimulant"]),
    ("xanex", ["benzodiazepine"]),
    ("zanax at night", ["benzodiazepine"]),
    ("klonapin 1mg", ["benzodiazepine"]),
    ("clonazapam", ["benzodiazepine"]),
    ("lorazapam prn", ["benzodiazepine"]),
    ("activan", ["benzodiazepine"]),
    ("vyvance", ["stimulant"]),
    ("ritilin", ["stimulant"]),
    ("lamotrigene", ["lamotrigine"]),
    ("lamictle", ["lamotrigine"]),
    ("hydrocodon", ["opioid"]),
    ("percoset", ["opioid"]),
    ("methylphenidat", ["stimulant"]),
    ("phentermin for weight loss", ["stimulant"]),
    # street names and short forms
    ("percs", ["opioid"]),
    ("a couple of percs a week", ["opioid"]),
    ("benzos", ["benzodiazepine"]),
    ("benzo's when I panic", ["benzodiazepine"]),
    ("addy for school", ["stimulant"]),
    ("xanax bars", ["benzodiazepine"]),
    # ketamine itself, esketamine, phentermine
    ("Spravato twice a week", ["ketamine_or_esketamine"]),
    ("esketamine nasal spray", ["ketamine_or_esketamine"]),
    ("ketamine troches from my doctor", ["ketamine_or_esketamine"]),
    ("phentermine", ["stimulant"]),
    ("Qsymia", ["stimulant"]),
    # several groups in one list
    ("lexapro 20, adderall 30, xanax 1mg, oxycontin", ["stimulant", "benzodiazepine", "opioid"]),
    ("nardil and lamictal", ["MAOI", "lamotrigine"]),
    # nothing to flag, including words close to a name
    ("none", []),
    ("sertraline 50mg", []),
    ("vitamin D", []),
    ("Ativanish", []),
    ("birth control pill and vitamin D", []),
    ("Wellbutrin 300 XL, buspirone", []),
    ("lisinopril 10mg, metformin", []),
    ("Ultra omega 3 fish oil", []),
    ("fish oil for fatty liver", []),
    ("melatonin to sleep, ibuprofen", []),
    ("tylenol and advil", []),
    ("trazodone 50", []),
    ("gabapentin", []),
    ("hydroxyzine as needed", []),
    ("propranolol before talks", []),
    ("levothyroxine", []),
    ("I go to concerts to relax", []),
    ("add", []),
    ("i take add meds from my doctor... not sure of the name", []),
]


def test_the_table_has_at_least_40_realistic_lists():
    assert len(MEDICINE_LISTS) >= 40
    assert sum(1 for _, groups in MEDICINE_LISTS if not groups) >= 10


@pytest.mark.parametrize("text,groups", MEDICINE_LISTS, ids=[t for t, _ in MEDICINE_LISTS])
def test_medicine_lists(text, groups):
    assert interacting_groups(text) == groups, matches(text, content().medications)


@pytest.mark.parametrize(
    "typed,name",
    [("aderall", "adderall"), ("xanex", "xanax"), ("klonapin", "klonopin"), ("percs", "percocet")],
)
def test_the_misspellings_named_in_the_issue(typed, name):
    found = matches(typed, content().medications)
    assert found, typed
    group = found[0][0]
    assert name in content().medications.groups[group]


def test_short_words_match_only_exactly():
    # "add" is three letters away from nothing in the table; "oxy" (a listed street name) matches only itself.
    assert interacting_groups("add") == []
    assert interacting_groups("oxy") == ["opioid"]
    assert interacting_groups("oxe") == []
    assert interacting_groups("perc") == ["opioid"] and interacting_groups("perx") == []


def test_a_name_added_to_the_data_is_found(tmp_path):
    clinic = tmp_path / "clinic"
    shutil.copytree(DEFAULT_CONTENT_DIR, clinic)
    meds = yaml.safe_load((clinic / "medications.yml").read_text(encoding="utf-8"))
    meds["groups"]["stimulant"]["names"].append("solriamfetol")
    (clinic / "medications.yml").write_text(yaml.safe_dump(meds, sort_keys=False), encoding="utf-8")
    data = load_content(clinic)
    assert interacting_groups("solriamfetol", data) == ["stimulant"]
    assert interacting_groups("solriamfetol") == []  # the shipped table is unchanged


def test_every_group_has_its_source(tmp_path):
    assert all(content().medications.groups.values())
    clinic = tmp_path / "clinic"
    shutil.copytree(DEFAULT_CONTENT_DIR, clinic)
    meds = yaml.safe_load((clinic / "medications.yml").read_text(encoding="utf-8"))
    del meds["groups"]["opioid"]["source"]
    (clinic / "medications.yml").write_text(yaml.safe_dump(meds, sort_keys=False), encoding="utf-8")
    with pytest.raises(ContentError, match="opioid"):
        load_content(clinic)
