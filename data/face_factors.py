"""What a procedural face is: its factors, the renderer versions (`STYLES`), the binary attributes derived from
the factors, and how factors are sampled. The faces dataset (data/faces.py) draws them with data/face_drawing.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Factor:
    name: str
    size: int  # 0: continuous (stored as its value); k > 0: discrete, stored as index 0..k-1
    low: float = 0.0  # range of a continuous factor
    high: float = 1.0
    levels: tuple[str, ...] = ()  # names of a discrete factor's levels


FACTORS = (
    Factor("skin_tone", 0),  # 0 palest .. 1 darkest
    Factor("face_width", 0),
    Factor("face_height", 0),  # jaw length
    Factor("hair_color", 5, levels=("black", "brown", "blond", "red", "gray")),
    Factor("hair_style", 4, levels=("bald", "short", "long", "bangs")),
    Factor("eye_openness", 0),
    Factor("iris_color", 4, levels=("brown", "blue", "green", "gray")),
    Factor("eyebrow_angle", 0, -1.0, 1.0),  # -1 inner ends down (stern) .. 1 inner ends up (worried)
    Factor("smile", 0, -1.0, 1.0),  # -1 frown .. 0 neutral .. 1 broad smile
    Factor("mouth_open", 0),  # 0 closed .. 1 wide open (inside and teeth visible)
    Factor("glasses", 6, levels=("none", "black", "tortoise", "red", "blue", "gold")),
    Factor("facial_hair", 4, levels=("none", "mustache", "goatee", "beard")),
    Factor("hat", 3, levels=("none", "beanie", "cap")),
    Factor("head_tilt", 0, -1.0, 1.0),  # -1..1 maps to -15..15 degrees
    Factor("offset_x", 0, -1.0, 1.0),
    Factor("offset_y", 0, -1.0, 1.0),
    Factor("scale", 0, -1.0, 1.0),  # -1..1 maps to 0.9..1.1
    Factor("background_hue", 0),
)
FACTOR_NAMES = [f.name for f in FACTORS]
F = {name: i for i, name in enumerate(FACTOR_NAMES)}  # column of each factor


@dataclass(frozen=True)
class Style:
    """What one renderer version draws: framing, attribute margins, and the size of small details."""

    zoom: float  # face scale (version 1 = 1); strokes scale with it
    center_y: float  # face centre, as a fraction of the image height
    # factor: (threshold, half-width of the excluded gap). Continuous factors become binary attributes at the
    # threshold; sampling leaves the gap empty, so an attribute is never decided by an invisible difference
    thresholds: dict[str, tuple[float, float]]
    smile_lift: float  # how far the mouth corners rise at smile 1, in face half-heights
    smile_widen: float  # how much wider the mouth is at smile 1 (0.15: 15%)
    lip_width: float  # lip stroke at zoom 1, in canvas fractions (a closed mouth's lower lip: 6/11 of it)
    upper_lip: float  # share of an open mouth's gap above the lips' line (0.5: an O, which smiles only when the corners rise)
    frame_width: float  # glasses frame stroke at zoom 1, in canvas fractions
    facial_hair_shade: float  # facial hair colour = hair colour x this (1: the same; < 1 darker, visible on pale skin)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # factor: (low, high) sampled, where not the Factor's


STYLES = {
    1: Style(
        1.0,
        0.55,
        {"smile": (0.2, 0.1), "mouth_open": (0.35, 0.05), "eye_openness": (0.3, 0.05), "skin_tone": (0.15, 0.05)},
        0.12,
        0.15,
        0.011,
        0.25,
        0.011,
        1.0,
    ),
    # not smiling -0.5..0.1 (neutral to a slight frown, as most of CelebA's non-smiling faces), smiling 0.6..1
    2: Style(
        1.6,
        0.47,
        {"smile": (0.35, 0.25), "mouth_open": (0.4, 0.25), "eye_openness": (0.4, 0.2), "skin_tone": (0.2, 0.1)},
        0.3,
        0.3,
        0.016,
        0.45,
        0.016,
        0.7,
        ranges={"smile": (-0.5, 1.0)},
    ),
}
VERSION = max(STYLES)  # what new datasets are rendered with; bump (adding a Style) when the renderer changes


def style_of(version: int) -> Style:
    if version not in STYLES:
        raise ValueError(f"faces version must be one of {', '.join(map(str, STYLES))}, got {version!r}")
    return STYLES[version]


ATTRIBUTE_NAMES = [  # CelebA's names where one applies; Red_Hair has no CelebA counterpart
    "Bald",
    "Bangs",
    "Black_Hair",
    "Blond_Hair",
    "Brown_Hair",
    "Eyeglasses",
    "Goatee",
    "Gray_Hair",
    "Mouth_Slightly_Open",
    "Mustache",
    "Narrow_Eyes",
    "No_Beard",
    "Pale_Skin",
    "Red_Hair",
    "Smiling",
    "Wearing_Hat",
]


# the attributes each factor decides (the factors with none, e.g. head_tilt or background_hue, are left out)
FACTOR_ATTRIBUTES = {
    "skin_tone": ("Pale_Skin",),
    "hair_color": ("Black_Hair", "Brown_Hair", "Blond_Hair", "Red_Hair", "Gray_Hair"),
    "hair_style": ("Bald", "Bangs"),
    "eye_openness": ("Narrow_Eyes",),
    "smile": ("Smiling",),
    "mouth_open": ("Mouth_Slightly_Open",),
    "glasses": ("Eyeglasses",),
    "facial_hair": ("Mustache", "Goatee", "No_Beard"),
    "hat": ("Wearing_Hat",),
}


def attributes_from_factors(factors: np.ndarray, version: int = VERSION) -> np.ndarray:
    """uint8 [N, len(ATTRIBUTE_NAMES)] binary attributes derived from factors [N, F] (thresholds of `version`)."""
    f = np.atleast_2d(factors)
    thresholds = style_of(version).thresholds
    col = lambda name: f[:, F[name]]  # noqa: E731
    hair, style = col("hair_color").astype(int), col("hair_style").astype(int)
    has_hair = style != 0  # a bald head shows no hair colour (CelebA labels none)
    above = lambda name: col(name) > thresholds[name][0]  # noqa: E731
    values = {
        "Bald": style == 0,
        "Bangs": style == 3,
        "Black_Hair": has_hair & (hair == 0),
        "Brown_Hair": has_hair & (hair == 1),
        "Blond_Hair": has_hair & (hair == 2),
        "Red_Hair": has_hair & (hair == 3),
        "Gray_Hair": has_hair & (hair == 4),
        "Eyeglasses": col("glasses") > 0,
        "Mustache": col("facial_hair") == 1,
        "Goatee": col("facial_hair") == 2,
        "No_Beard": col("facial_hair") == 0,
        "Mouth_Slightly_Open": above("mouth_open"),
        "Narrow_Eyes": ~above("eye_openness"),
        "Pale_Skin": ~above("skin_tone"),
        "Smiling": above("smile"),
        "Wearing_Hat": col("hat") > 0,
    }
    return np.stack([values[name] for name in ATTRIBUTE_NAMES], axis=1).astype(np.uint8)


# ----------------------------------------------------------------------------- sampling


def sample_factors(n: int, seed: int, correlated: bool = False, version: int = VERSION) -> np.ndarray:
    """float32 [n, F] factors. Independent by default; `correlated=True` makes some
    attributes co-occur as in photo collections (Smiling with Mouth_Slightly_Open,
    Gray_Hair with Eyeglasses, long hair without beards), so a naive mean-difference
    attribute vector entangles them and a balanced/conditional one can do better."""
    rng = np.random.default_rng(seed)
    look = style_of(version)
    thresholds = look.thresholds
    out = np.empty((n, len(FACTORS)), np.float32)
    for i, factor in enumerate(FACTORS):
        low, high = look.ranges.get(factor.name, (factor.low, factor.high))
        if factor.name in thresholds:
            out[:, i] = _uniform_with_gap(rng, n, low, high, *thresholds[factor.name])
        elif factor.size:
            out[:, i] = rng.choice(factor.size, size=n, p=_PRIORS.get(factor.name))
        else:
            out[:, i] = rng.uniform(low, high, n)
    if correlated:
        _correlate(rng, out, thresholds)
    return out


_PRIORS = {  # level probabilities of discrete factors (uniform when absent)
    "hair_style": [0.15, 0.35, 0.3, 0.2],
    "glasses": [0.7] + [0.06] * 5,
    "facial_hair": [0.6, 0.15, 0.1, 0.15],
    "hat": [0.76, 0.12, 0.12],
}


def _uniform_with_gap(rng, n, low, high, threshold, gap):
    """Uniform on [low, high] minus (threshold - gap, threshold + gap)."""
    width = (high - low) - 2 * gap
    u = rng.uniform(low, low + width, n)
    return np.where(u < threshold - gap, u, u + 2 * gap)


def _correlate(rng, f, thresholds):
    """Re-draw some factors conditioned on others (in place); the marginals stay sensible."""
    n = len(f)
    smiling = f[:, F["smile"]] > thresholds["smile"][0]
    # P(mouth open | smiling) = 0.85, P(mouth open | not smiling) = 0.15
    want_open = rng.random(n) < np.where(smiling, 0.85, 0.15)
    t, gap = thresholds["mouth_open"]
    f[:, F["mouth_open"]] = np.where(want_open, rng.uniform(t + gap, 1.0, n), rng.uniform(0.0, t - gap, n))
    # P(glasses | gray hair) = 0.7, otherwise 0.15
    gray = f[:, F["hair_color"]] == 4
    wears = rng.random(n) < np.where(gray, 0.7, 0.15)
    f[:, F["glasses"]] = np.where(wears, rng.integers(1, 6, n), 0)
    # long hair: a beard only 5% of the time
    long_hair = f[:, F["hair_style"]] == 2
    f[long_hair & (rng.random(n) > 0.05), F["facial_hair"]] = 0
