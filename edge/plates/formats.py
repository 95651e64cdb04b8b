"""UK registration formats as data, so generators, validators and the grammar corrector agree.

Each format is a set of layouts. A layout says, per position, which characters may stand there
(its `pattern` reduces that to L/D for "position 3 must be a digit"), which two-character pairs
are restricted to a fixed list (age identifiers, Northern Irish codes) and where the legal
display puts its space. The letter rules follow the DVLA's published ones; where a rule is an
approximation it says so next to the constant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
# Numbers on UK plates never start with 0 (the "1" in "A1" is the lowest number).
LEADING_DIGITS = "123456789"


def _letters_without(excluded: str) -> str:
    return "".join(c for c in LETTERS if c not in excluded)


# gb-current memory tag: the first letter is the DVLA region (A Anglia ... Y Yorkshire), plus
# X for export vehicles; I, J, Q, T, U and Z are never used there. The second letter names
# the local office: any letter but I, Q and Z.
MEMORY_TAG_REGIONS = "ABCDEFGHKLMNOPRSVWXY"
MEMORY_TAG_OFFICES = _letters_without("IQZ")
# The three random letters of a current plate avoid only I and Q (Z is used there).
CURRENT_RANDOM_LETTERS = _letters_without("IQ")
# Age identifiers issued so far: September 2001 (51) to September 2026 (76), March 2002 (02)
# to March 2026 (26). Deterministic on purpose (no clock): add 27 in March 2027, 77 in
# September 2027.
AGE_IDENTIFIERS = frozenset(
    [f"{year:02d}" for year in range(2, 27)] + [f"{year}" for year in range(51, 77)]
)
# Prefix and suffix year letters: A-Y without I, O, Q, U and Z.
YEAR_LETTERS = _letters_without("IOQUZ")
# Letters of the older GB series (prefix, suffix, dateless): I and Z were kept for Ireland and
# Q for vehicles of unknown age, in the serial letter and in the two-letter area code alike.
GB_SERIES_LETTERS = _letters_without("IQZ")
# Northern Irish area codes: each contains I or Z, which is what keeps them apart from GB ones.
# This is the list of codes issued since 1958 as far as we know it; IG and similar Irish
# Free State codes are deliberately absent.
NI_CODES = frozenset({"IA", "IB", "IJ", "IL", "IW", "JI", "OI", "UI", "XI"}) | frozenset(
    f"{letter}Z" for letter in "ABCDEFGHJKLMNOPRSTUVWXY"
)
NI_SERIAL_LETTERS = _letters_without("IQZ")


@dataclass(frozen=True)
class Layout:
    """One arrangement of characters that a format allows."""

    alphabets: tuple[str, ...]  # characters allowed at each position
    space_at: int  # index of the first character after the display space
    # (position, allowed pairs): the two characters from `position` must be one of the pairs
    pairs: tuple[tuple[int, frozenset[str]], ...] = ()
    weight: float = 1.0  # relative frequency among the format's layouts when generating

    @property
    def pattern(self) -> str:
        """L/D per position, e.g. "LLDDLLL"."""
        return "".join("D" if set(chars) <= set(DIGITS) else "L" for chars in self.alphabets)

    def accepts(self, text: str) -> bool:
        if len(text) != len(self.alphabets):
            return False
        if any(c not in chars for c, chars in zip(text, self.alphabets, strict=True)):
            return False
        return all(text[at : at + 2] in allowed for at, allowed in self.pairs)

    def random_text(self, rng: np.random.Generator) -> str:
        chars = [chars[rng.integers(len(chars))] for chars in self.alphabets]
        for at, allowed in self.pairs:
            pair = sorted(allowed)[rng.integers(len(allowed))]  # sorted: set order is not stable
            chars[at : at + 2] = list(pair)
        return "".join(chars)


@dataclass(frozen=True)
class PlateFormat:
    label: str
    description: str
    layouts: tuple[Layout, ...]
    share: float  # share of this format in `random_registration(fmt=None)`

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(layout.pattern for layout in self.layouts)

    def layout_of(self, text: str) -> Layout | None:
        return next((layout for layout in self.layouts if layout.accepts(text)), None)


@dataclass(frozen=True)
class Registration:
    text: str  # A-Z0-9 only, e.g. "AB12CDE"
    format: str | None  # a key of FORMATS, or None for a foreign-looking registration
    display: str  # as printed on the plate, e.g. "AB12 CDE"


def _number(digits: int) -> tuple[str, ...]:
    return (LEADING_DIGITS,) + (DIGITS,) * (digits - 1)


def _dateless_layouts() -> tuple[Layout, ...]:
    layouts = []
    for letters in range(1, 4):
        for digits in range(1, 5):
            letter_part = (GB_SERIES_LETTERS,) * letters
            layouts.append(Layout(letter_part + _number(digits), space_at=letters))
            layouts.append(Layout(_number(digits) + letter_part, space_at=digits))
    return tuple(layouts)


def _ni_layouts() -> tuple[Layout, ...]:
    layouts = []
    for digits in range(1, 5):
        # the current series (serial letter + code + up to 4 digits) is by far the most common
        modern = Layout(
            (NI_SERIAL_LETTERS, LETTERS, LETTERS, *_number(digits)),
            space_at=3,
            pairs=((1, NI_CODES),),
            weight=4.0 if digits == 4 else 1.0,
        )
        layouts.append(modern)
        layouts.append(
            Layout(
                (LETTERS, LETTERS, *_number(digits)), space_at=2, pairs=((0, NI_CODES),), weight=0.5
            )
        )
    return tuple(layouts)


FORMATS: Mapping[str, PlateFormat] = MappingProxyType(
    {
        "gb-current": PlateFormat(
            "gb-current",
            "2001-: memory tag, age identifier, three random letters (AB12 CDE)",
            (
                Layout(
                    (MEMORY_TAG_REGIONS, MEMORY_TAG_OFFICES, DIGITS, DIGITS)
                    + (CURRENT_RANDOM_LETTERS,) * 3,
                    space_at=4,
                    pairs=((2, AGE_IDENTIFIERS),),
                ),
            ),
            share=0.70,
        ),
        "gb-prefix": PlateFormat(
            "gb-prefix",
            "1983-2001: year letter, 1-999, three letters (A123 BCD)",
            tuple(
                Layout(
                    (YEAR_LETTERS, *_number(digits)) + (GB_SERIES_LETTERS,) * 3,
                    space_at=1 + digits,
                    weight=float(digits),
                )
                for digits in range(1, 4)
            ),
            share=0.12,
        ),
        "gb-suffix": PlateFormat(
            "gb-suffix",
            "1963-1983: three letters, 1-999, year letter (ABC 123D)",
            tuple(
                Layout(
                    (GB_SERIES_LETTERS,) * 3 + _number(digits) + (YEAR_LETTERS,),
                    space_at=3,
                    weight=float(digits),
                )
                for digits in range(1, 4)
            ),
            share=0.06,
        ),
        "gb-dateless": PlateFormat(
            "gb-dateless",
            "before 1963: 1-3 letters and 1-4 digits in either order (ABC 123, 1234 AB)",
            _dateless_layouts(),
            share=0.06,
        ),
        "gb-ni": PlateFormat(
            "gb-ni",
            "Northern Ireland: letters holding an I or Z area code, 1-4 digits (ABZ 1234)",
            _ni_layouts(),
            share=0.06,
        ),
    }
)

# Shapes of registrations from elsewhere (US, Brazil, Mercosur, European), as (pattern,
# space_at or None). "?" is a letter or a digit: many US plates mix them freely.
FOREIGN_SHAPES: tuple[tuple[str, int | None], ...] = (
    ("LLLDDDD", 3),  # Brazil grey, many US states
    ("LLLDLDD", None),  # Mercosur
    ("DLLLDDD", None),  # California
    ("LLLDDD", 3),
    ("DDDLLL", 3),
    ("LLDDDD", 2),
    ("DDLLDD", None),
    ("LLDDDDL", None),
    ("LLDDLLL", 4),
    ("DLLDDD", None),
    ("?????", None),
    ("??????", None),
    ("???????", None),
    ("????????", None),
)


def _weighted_choice(rng: np.random.Generator, weights: list[float]) -> int:
    probabilities = np.asarray(weights, dtype=np.float64)
    return int(rng.choice(len(weights), p=probabilities / probabilities.sum()))


def _with_space(text: str, space_at: int | None) -> str:
    return text if space_at is None else f"{text[:space_at]} {text[space_at:]}"


def random_registration(rng: np.random.Generator, fmt: str | None = None) -> Registration:
    """A valid UK registration of `fmt`, or of a format drawn with the shares in FORMATS."""
    if fmt is None:
        labels = list(FORMATS)
        fmt = labels[_weighted_choice(rng, [FORMATS[label].share for label in labels])]
    plate_format = FORMATS[fmt]
    layouts = plate_format.layouts
    layout = layouts[_weighted_choice(rng, [layout.weight for layout in layouts])]
    text = layout.random_text(rng)
    return Registration(text, fmt, _with_space(text, layout.space_at))


def random_foreign(rng: np.random.Generator) -> Registration:
    """A registration shaped like another country's (5-8 characters), with no UK format."""
    pattern, space_at = FOREIGN_SHAPES[rng.integers(len(FOREIGN_SHAPES))]
    pools = {"L": LETTERS, "D": DIGITS, "?": LETTERS + DIGITS}
    text = "".join(pools[kind][rng.integers(len(pools[kind]))] for kind in pattern)
    return Registration(text, None, _with_space(text, space_at))


def classify(text: str) -> str | None:
    """The UK format whose rules `text` (A-Z0-9, no spaces) obeys, or None.

    The formats are disjoint (the I/Z letters of Northern Irish codes and the letter/digit
    order keep them apart), so the first match is the only one.
    """
    return next((label for label, f in FORMATS.items() if f.layout_of(text) is not None), None)


def display_text(text: str, fmt: str | None) -> str:
    """`text` with the space where the legal display of `fmt` puts it ("AB12CDE" -> "AB12 CDE").

    Foreign registrations (fmt None) have no legal spacing and come back unchanged.
    """
    if fmt is None:
        return text
    layout = FORMATS[fmt].layout_of(text)
    if layout is None:
        raise ValueError(f"{text!r} is not a valid {fmt} registration")
    return _with_space(text, layout.space_at)
