"""Language check: the answer is written in the language the case expects (`lang:fr` -> French).

Detection is offline with py3langid (a naive Bayes model over byte n-grams; ISO 639 codes,
two letters where there is one). Very short answers ("Oui", "42") carry too little text to identify, so below
`min_letters` letters the answer is unscorable rather than wrongly failed.
"""

from __future__ import annotations

import threading
from typing import Any

from evals.cases import Case
from evals.results import Completion, Score
from evals.scoring.apply import no_answer
from evals.scoring.registry import Scorer, scorer

LANG_TAG_PREFIX = "lang:"
DETECTOR = "py3langid"

_lock = threading.Lock()
_identifier: Any = None


def _detector() -> Any:
    """The process's own py3langid identifier with normalised probabilities, loaded on first use."""
    global _identifier
    with _lock:
        if _identifier is None:
            # A private instance: py3langid's module-level one can be restricted by set_languages.
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _identifier


def known_languages() -> set[str]:
    """The language codes the detector can tell apart."""
    return set(_detector().labels)


def detect_language(text: str) -> tuple[str, float]:
    """The most likely language of *text* and its probability."""
    language, probability = _detector().classify(text)
    return str(language), float(probability)


def base_code(tag_value: str) -> str:
    """`fr-CA` / `pt_BR` / `FR` -> `fr`, the code the detector answers with."""
    return tag_value.replace("_", "-").split("-", 1)[0].strip().lower()


def expected_languages(case: Case) -> list[str]:
    """The languages the case's `lang:xx` tags ask for, in tag order."""
    found = [base_code(tag[len(LANG_TAG_PREFIX) :]) for tag in case.tags if tag.startswith(LANG_TAG_PREFIX)]
    return [code for code in dict.fromkeys(found) if code]


def _expected_option(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"option 'expected' must be a language code such as 'fr', got {value!r}")
    code = base_code(value)
    if code not in known_languages():
        raise ValueError(f"option 'expected': unknown language code {value!r}; use ISO 639 codes such as 'fr'")
    return code


def _min_letters(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TypeError(f"option 'min_letters' must be a whole number >= 1, got {value!r}")
    return value


@scorer("language", version="1")
def language(*, expected: str | None = None, min_letters: int = 10) -> Scorer:
    """1.0 when the answer is in the expected language (`expected` option, else the `lang:xx` tag)."""
    fixed = _expected_option(expected)
    shortest = _min_letters(min_letters)

    async def score(case: Case, completion: Completion, production: Completion | None = None) -> Score:
        if completion.output is None or not completion.ok:
            return no_answer(completion)
        wanted = [fixed] if fixed is not None else expected_languages(case)
        if not wanted:
            return Score.unscorable("case has no lang:xx tag and the scorer has no 'expected' option")
        letters = sum(ch.isalpha() for ch in completion.output)
        if letters < shortest:
            return Score.unscorable(f"answer has {letters} letters, too few to identify its language (min {shortest})")
        detected, probability = detect_language(completion.output)
        details = {"detected": detected, "probability": round(probability, 4), "expected": wanted, "detector": DETECTOR}
        if detected in wanted:
            return Score(value=1.0, explanation=f"answer is in {detected}", details=details)
        return Score(value=0.0, explanation=f"answer is in {detected}, expected {' or '.join(wanted)}", details=details)

    return score
