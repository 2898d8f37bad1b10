"""A stored recipe reads leniently; the declaration it came from stays strict."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from evals.config import WatchDecl
from evals.policy import default_margin
from evals.recipe import Recipe

STORED = {
    "watch": {"name": "w", "golden_set": "g", "production": "p", "candidates": ["c"],
              "scorers": [{"name": "contains", "options": {}, "version": "1"},
                          {"name": "exact_match", "options": {"ignore_case": True}, "version": "1", "primary": True}],
              "policy": {"margin": 0.1, "min_cases_added_later": 30},
              "alerts_v2": {"route": "added later"}},
    "golden_set": "g",
    "content_hash": "abc",
    "added_later": True,
}


def test_a_stored_recipe_with_keys_added_later_still_loads() -> None:
    # when a recipe stored with keys this code does not know is read
    recipe = Recipe.model_validate(STORED)
    # then the known settings are typed, and the scorers are specs with the primary marked
    assert (recipe.watch.name, recipe.golden_set, recipe.content_hash) == ("w", "g", "abc")
    assert recipe.watch.policy.margin == 0.1 and recipe.watch.repeat == 1
    assert [spec.key for spec in recipe.scorers] == ["contains", 'exact_match:{"ignore_case":true}']
    assert recipe.primary.name == "exact_match"


def test_a_stored_recipe_without_a_policy_gets_the_declared_default_margin() -> None:
    watch = {key: value for key, value in STORED["watch"].items() if key != "policy"}
    assert Recipe.model_validate({**STORED, "watch": watch}).watch.policy.margin == default_margin() == 0.05


def test_the_declaration_still_refuses_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="alerts_v2"):
        WatchDecl.model_validate({**STORED["watch"], "scorers": ["contains"]})


def test_a_stored_policy_value_now_refused_falls_back_to_its_default_and_keeps_the_rest() -> None:
    watch = {**STORED["watch"], "policy": {"margin": 0.1, "hysteresis": 0, "critical_segments": ["lang:fr"]}}

    policy = Recipe.model_validate({**STORED, "watch": watch}).watch.policy

    assert (policy.margin, policy.hysteresis, policy.critical_segments) == (0.1, 3, ("lang:fr",))
