"""Latin to Cyrillic transliteration used by the category name filter."""

from __future__ import annotations

_TABLE = {
    "shch": "щ",
    "sch": "щ",
    "zh": "ж",
    "kh": "х",
    "ts": "ц",
    "ch": "ч",
    "sh": "ш",
    "yu": "ю",
    "ju": "ю",
    "ya": "я",
    "ja": "я",
    "yo": "ё",
    "e'": "э",
    "a": "а",
    "b": "б",
    "v": "в",
    "g": "г",
    "d": "д",
    "e": "е",
    "z": "з",
    "i": "и",
    "j": "й",
    "y": "ы",
    "k": "к",
    "l": "л",
    "m": "м",
    "n": "н",
    "o": "о",
    "p": "п",
    "r": "р",
    "s": "с",
    "t": "т",
    "u": "у",
    "f": "ф",
    "h": "х",
    "c": "ц",
    "'": "ь",
}
_LONGEST = max(len(key) for key in _TABLE)


def latin_to_cyrillic(text: str) -> str:
    """Longest match first; characters without a mapping are kept as they are."""
    lowered = text.lower()
    result = []
    index = 0
    while index < len(lowered):
        for size in range(_LONGEST, 0, -1):
            chunk = lowered[index : index + size]
            if chunk in _TABLE:
                result.append(_TABLE[chunk])
                index += size
                break
        else:
            result.append(lowered[index])
            index += 1
    return "".join(result)
