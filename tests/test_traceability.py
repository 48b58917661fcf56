"""Traceability: every rule id is stated in SPEC.md, cited by a model predicate and by a test."""

from __future__ import annotations

import pathlib
import re

import model

ROOT = pathlib.Path(__file__).resolve().parent.parent
RULE = re.compile(r"\b([A-Z]{3,6}-\d+)\b")


def _spec_ids() -> set[str]:
    text = (ROOT / "spec" / "SPEC.md").read_text(encoding="utf-8")
    return set(re.findall(r"^### ([A-Z]{3,6}-\d+)\b", text, flags=re.MULTILINE))


def _test_text() -> str:
    here = pathlib.Path(__file__).resolve()
    return "\n".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py") if p != here
    )


def test_spec_and_model_state_the_same_rules() -> None:
    """SPEC.md has a section for exactly the rule ids the model's predicates cite."""
    assert _spec_ids() == set(model.rule_ids())


def test_every_rule_is_tested() -> None:
    """Every rule id appears in at least one test besides this one."""
    cited = set(RULE.findall(_test_text()))
    missing = sorted(set(model.rule_ids()) - cited)
    assert not missing, f"rules no test cites: {missing}"


def test_every_spec_section_names_its_predicates() -> None:
    """Each rule's section in SPEC.md names every predicate that enforces it."""
    text = (ROOT / "spec" / "SPEC.md").read_text(encoding="utf-8")
    sections = re.split(r"^### ", text, flags=re.MULTILINE)
    by_id = {s.split()[0]: s for s in sections[1:] if RULE.match(s.split()[0])}
    for p in model.PREDICATES:
        assert f"`{p.name}`" in by_id[p.rule], f"{p.rule} section does not name {p.name}"
