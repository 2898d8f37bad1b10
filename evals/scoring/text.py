"""Text helpers of the built-in scorers: normalisation, numbers in prose, bounded edit distance."""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Unicode space separators (category Zs) other than the ASCII space. French answers put
# U+202F before "%" and between digit groups; it must not make two equal answers differ.
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_UNICODE_TABLE = {**{ord(ch): " " for ch in _SPACES}, **{ord(ch): None for ch in _INVISIBLE}}
_ASCII_PUNCTUATION = frozenset(string.punctuation)
_WHITESPACE_RUN = re.compile(r"\s+")


def normalize_unicode(text: str) -> str:
    """NFC-compose *text*, turn Unicode spaces into ASCII spaces and drop zero-width characters.

    NFC rather than NFKC: compatibility folding would make "x²" equal "x2".
    """
    return unicodedata.normalize("NFC", text).translate(_UNICODE_TABLE)


def normalize_text(
    text: str,
    *,
    ignore_case: bool = False,
    strip: bool = True,
    collapse_whitespace: bool = False,
    remove_punctuation: bool = False,
    unicode: bool = True,
) -> str:
    """Apply the chosen normalisations, in a fixed order, so two texts can be compared.

    Args:
        text: The text to normalise.
        ignore_case: Case-fold (a stronger `lower()` that also folds "ß" to "ss").
        strip: Remove leading and trailing whitespace.
        collapse_whitespace: Turn every run of whitespace into one space.
        remove_punctuation: Drop Unicode punctuation and ASCII symbols such as `$` and `~`.
        unicode: Apply :func:`normalize_unicode` first.

    Returns:
        The normalised text.
    """
    if unicode:
        text = normalize_unicode(text)
    if remove_punctuation:
        text = "".join(
            ch for ch in text if ch not in _ASCII_PUNCTUATION and not unicodedata.category(ch).startswith("P")
        )
    if ignore_case:
        text = text.casefold()
    if collapse_whitespace:
        text = _WHITESPACE_RUN.sub(" ", text)
    if strip:
        text = text.strip()
    return text


def clip(text: str, limit: int = 200) -> str:
    """Shorten *text* for an explanation, and make it safe to store (no NUL characters)."""
    text = text.replace("\x00", "\\0")
    return text if len(text) <= limit else text[: limit - 1] + "…"


_NUMBER = re.compile(
    r"""
    (?<![\w.])                                   # not the tail of a word or of another number
    [-+\u2212]?
    (?:
        (?: \d{1,3}(?:,\d{3})+(?!\d)             # 1,234,567
          | \d{1,3}(?:[\u00a0\u202f\u2009]\d{3})+(?!\d)   # 1 234 567 with a no-break/thin space
          | \d+
        )
        (?:\.\d+)?
      | \.\d+
    )
    (?:[eE][-+]?\d+)?
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class NumberInText:
    """A number found in prose."""

    text: str
    """As written, e.g. `-1,234.5`."""
    value: Decimal
    """Its exact value."""


def find_numbers(text: str) -> list[NumberInText]:
    """All numbers in *text*, in order: signs, decimals, thousands separators, exponents.

    A hyphen glued to a word is not a sign ("COVID-19" holds 19), and digits glued to a
    letter are not a number ("H2O", "x2").
    """
    found = []
    for match in _NUMBER.finditer(text):
        written = match.group(0)
        plain = written.replace("\u2212", "-")
        for separator in ",\u00a0\u202f\u2009":
            plain = plain.replace(separator, "")
        try:
            value = Decimal(plain)
        except InvalidOperation:  # an exponent beyond any arithmetic, e.g. 1e99999999999999999999
            continue
        found.append(NumberInText(text=written, value=value))
    return found


def last_number(text: str) -> NumberInText | None:
    """The last number in *text* (where answers usually state their result), or None."""
    numbers = find_numbers(text)
    return numbers[-1] if numbers else None


def levenshtein_within(a: str, b: str, limit: int) -> int | None:
    """The edit distance between *a* and *b* when it is at most *limit*, else None.

    Only the diagonal band of width 2·limit+1 is computed (cells outside it are already
    further than *limit*), so long answers cost O(length · limit), not O(length²).
    """
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    a, b = a[start:], b[start:]
    end = 0
    while end < len(a) and end < len(b) and a[-1 - end] == b[-1 - end]:
        end += 1
    a, b = a[: len(a) - end], b[: len(b) - end]
    if len(a) < len(b):
        a, b = b, a
    n, m = len(a), len(b)
    if n - m > limit:
        return None
    beyond = limit + 1
    # Two rows, reused; a cell is only read after this row or the one before wrote it.
    previous = [j if j <= limit else beyond for j in range(m + 1)]
    current = [beyond] * (m + 1)
    for i in range(1, n + 1):
        low, high = max(1, i - limit), min(m, i + limit)
        current[low - 1] = i if low == 1 and i <= limit else beyond
        for j in range(low, high + 1):
            substitution = previous[j - 1] + (a[i - 1] != b[j - 1])
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution, beyond)
        if min(current[low - 1 : high + 1]) > limit:
            return None
        previous, current = current, previous
    return previous[m] if previous[m] <= limit else None
