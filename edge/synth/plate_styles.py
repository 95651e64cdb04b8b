"""Plate designs: what a plate looks like, decided once per plate from the rng.

UK registrations get UK designs (white front, yellow rear, square two-row plates, side bands,
dealer print); foreign-looking ones get US-like, Brazilian, Mercosur or European designs, so a
model trained here has seen coloured inks, graphic backgrounds and small print before it meets
real photographs. Colours are BGR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from edge.plates.formats import Registration
from edge.synth import glyphs
from edge.synth.raster import Colour, jitter_colour

T = TypeVar("T")

BLACK_INK: Colour = (28, 28, 30)
WHITE: Colour = (244, 246, 246)
UK_YELLOW: Colour = (18, 204, 250)
BAND_BLUE: Colour = (150, 52, 8)
STAR_YELLOW: Colour = (20, 210, 250)
US_INKS: tuple[Colour, ...] = (
    (110, 40, 20),  # dark blue
    (40, 30, 170),  # red
    (50, 110, 30),  # green
    (25, 25, 25),  # black
    (40, 20, 110),  # maroon
)
US_BACKGROUNDS: tuple[Colour, ...] = (WHITE, (235, 240, 250), (250, 238, 225), (215, 235, 245))
US_STATES = (
    "ARIZONA", "CALIFORNIA", "COLORADO", "FLORIDA", "GEORGIA", "ILLINOIS", "IOWA", "KANSAS",
    "MAINE", "MICHIGAN", "MONTANA", "NEVADA", "NEW YORK", "OHIO", "OREGON", "TEXAS", "UTAH",
    "VIRGINIA",
)  # fmt: skip
US_SLOGANS = (
    "Sunshine State", "Land of Lincoln", "Great Lakes", "Grand Canyon State", "Live Free or Die",
    "Empire State", "DRIVE SAFELY", "dmv.gov", "Famous Potatoes", "Explore", "Heartland",
)  # fmt: skip
BR_TOWNS = (
    "SP - SAO PAULO", "RJ - RIO DE JANEIRO", "MG - BELO HORIZONTE", "PR - CURITIBA",
    "BA - SALVADOR", "RS - PORTO ALEGRE", "SC - JOINVILLE", "PE - RECIFE", "GO - GOIANIA",
)  # fmt: skip
DEALERS = ("AUTOS", "MOTORS", "CARS", "GARAGE", "VEHICLE SALES", "PLATES", "TRADE CENTRE")
EU_BANDS = ("D", "F", "NL", "B", "I", "E", "PL", "IRL", "L", "A")
UK_BANDS = ("GB", "UK", "GB", "UK", "CYM", "ENG", "SCO")


@dataclass(frozen=True)
class PlateStyle:
    design: str  # uk, uk-square, eu, us, br-grey, mercosul
    size_mm: tuple[float, float]  # width, height
    face: str  # a name in glyphs.FACES
    char_height_mm: float
    stretch: float  # glyph width factor (the face's own proportions are 1.0)
    background: Colour
    background_end: Colour  # the background is a vertical gradient to this colour
    ink: Colour
    small_face: str  # face of the small print
    band: str | None = None  # letters on a blue side band (uk, eu)
    stars: bool = False  # a ring of stars on the band
    top_text: str | None = None  # US state, Brazilian town, "BRASIL" on Mercosur's band
    bottom_text: str | None = None  # US slogan, UK dealer
    standard_mark: bool = False  # UK "BS AU 145e" in the corner
    separator: str | None = None  # "-" (Brazil) or "o" (an emblem) between the groups
    screws: int = 0  # 0, 2 or 4
    border: bool = False
    frame: bool = False  # a dealer frame over the plate's edges
    decorations: int = 0  # faint background shapes (US)
    embossed: bool = False  # raised characters with a shadow (US)

    @property
    def two_rows(self) -> bool:
        return self.design == "uk-square"


def pick(rng: np.random.Generator, options: Sequence[T]) -> T:
    """One element, uniformly; sequences only, so the choice never depends on set order."""
    return options[int(rng.integers(len(options)))]


def truetype_face(rng: np.random.Generator) -> str:
    return pick(rng, glyphs.TRUETYPE_FACES) if glyphs.TRUETYPE_FACES else glyphs.UK_FACE


def _uk_style(rng: np.random.Generator) -> PlateStyle:
    square = rng.random() < 0.08
    rear = rng.random() < (0.7 if square else 0.5)
    motorcycle = square and rng.random() < 0.5
    size = (229.0, 178.0) if motorcycle else (279.0, 203.0) if square else (520.0, 111.0)
    base = jitter_colour(rng, UK_YELLOW if rear else WHITE, 10)
    band = None if square or rng.random() < 0.5 else pick(rng, UK_BANDS)
    return PlateStyle(
        design="uk-square" if square else "uk",
        size_mm=size,
        # real UK plates use the Charles Wright face; some show plates and misprints do not
        face=glyphs.UK_FACE if rng.random() < 0.85 else truetype_face(rng),
        char_height_mm=64.0 if motorcycle else 79.0,
        stretch=float(rng.uniform(0.92, 1.05)),
        background=base,
        background_end=jitter_colour(rng, base, 12),
        ink=jitter_colour(rng, BLACK_INK, 10),
        small_face=truetype_face(rng),
        band=band,
        stars=band == "GB" and rng.random() < 0.6,
        bottom_text=None if rng.random() < 0.4 else pick(rng, DEALERS),
        standard_mark=rng.random() < 0.6,
        screws=int(pick(rng, (0, 0, 2, 2, 4))),
        border=rng.random() < 0.15,
        frame=rng.random() < 0.05,
    )


def _foreign_style(rng: np.random.Generator, registration: Registration) -> PlateStyle:
    shape = "".join("D" if c.isdigit() else "L" for c in registration.text)
    designs = ["us", "us", "eu"]
    designs += ["br-grey"] * 2 if shape == "LLLDDDD" else []
    designs += ["mercosul"] * 3 if shape == "LLLDLDD" else []
    design = pick(rng, designs)
    face = truetype_face(rng) if rng.random() < 0.8 else glyphs.UK_FACE
    ink = jitter_colour(rng, BLACK_INK, 12)
    common: dict[str, Any] = {"face": face, "small_face": truetype_face(rng)}
    if design == "eu":
        base = jitter_colour(rng, WHITE if rng.random() < 0.8 else UK_YELLOW, 10)
        return PlateStyle(
            design,
            (520.0, 110.0),
            char_height_mm=75.0,
            stretch=float(rng.uniform(0.8, 1.0)),
            background=base,
            background_end=jitter_colour(rng, base, 10),
            ink=ink,
            band=pick(rng, EU_BANDS),
            stars=True,
            screws=int(pick(rng, (0, 2))),
            border=rng.random() < 0.5,
            **common,
        )
    if design in ("br-grey", "mercosul"):
        grey = design == "br-grey"
        base = jitter_colour(rng, (178, 180, 180) if grey else WHITE, 18 if grey else 8)
        return PlateStyle(
            design,
            (400.0, 130.0),
            char_height_mm=63.0 if grey else 65.0,
            stretch=float(rng.uniform(0.65, 0.85)),
            background=base,
            background_end=jitter_colour(rng, base, 15),
            ink=ink,
            top_text=pick(rng, BR_TOWNS) if grey else "BRASIL",
            separator="-" if grey else None,
            screws=2,
            border=True,
            **common,
        )
    base = jitter_colour(rng, pick(rng, US_BACKGROUNDS), 12)
    return PlateStyle(
        design,
        (305.0, 152.0),
        char_height_mm=float(pick(rng, (60.0, 64.0, 68.0, 72.0, 76.0))),
        stretch=float(rng.uniform(0.6, 0.9)),
        background=base,
        background_end=jitter_colour(rng, pick(rng, ((250, 200, 150), (150, 220, 250), base)), 20),
        ink=jitter_colour(rng, pick(rng, US_INKS), 15),
        top_text=pick(rng, US_STATES),
        bottom_text=None if rng.random() < 0.3 else pick(rng, US_SLOGANS),
        separator=pick(rng, (None, None, "-", "o")),
        screws=int(pick(rng, (0, 2, 4))),
        border=rng.random() < 0.5,
        frame=rng.random() < 0.25,
        decorations=int(rng.integers(0, 4)),
        embossed=rng.random() < 0.4,
        **common,
    )


def random_style(rng: np.random.Generator, registration: Registration) -> PlateStyle:
    """A design suited to the registration: UK designs for UK formats, the others otherwise."""
    return _uk_style(rng) if registration.format else _foreign_style(rng, registration)
