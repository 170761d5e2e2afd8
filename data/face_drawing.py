"""How a procedural face is drawn from its factor vector (data/face_factors.py): palettes, geometry, and one
function per part of the face.

Drawing: every part is a polygon in face-local coordinates (x right, y down, the face
ellipse's half-width `a` and half-height `b` as units); one affine map per image applies
head tilt, scale and position jitter, so nothing is resampled but the final
antialiasing. Faces are drawn at SUPERSAMPLE x the output size and box-filtered down.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw

from .face_factors import FACTOR_NAMES, FACTORS, VERSION, F, style_of

SUPERSAMPLE = 4  # draw at 4x, then box-filter down: smooth edges without per-shape antialiasing
SIZES = (32, 64, 128)

# ----------------------------------------------------------------------------- palettes

SKIN = np.array([(255, 228, 206), (240, 200, 165), (222, 172, 128), (190, 130, 88), (140, 90, 60), (92, 60, 42)], float)
HAIR = [(38, 32, 32), (110, 72, 42), (232, 200, 120), (185, 72, 35), (180, 180, 184)]
IRIS = [(105, 62, 30), (55, 115, 200), (60, 140, 75), (125, 135, 145)]
FRAMES = [None, (20, 20, 24), (125, 72, 30), (200, 30, 45), (35, 70, 190), (210, 170, 60)]
HATS = [None, (180, 40, 50), (30, 50, 110)]
SHIRT = (72, 84, 110)
MOUTH_INSIDE = (96, 22, 34)
TEETH = (250, 250, 244)
WHITE = (250, 250, 250)


def _skin(t):
    """Interpolate the skin palette at t in [0, 1]."""
    pos = t * (len(SKIN) - 1)
    i = min(int(pos), len(SKIN) - 2)
    return tuple(int(v) for v in SKIN[i] + (pos - i) * (SKIN[i + 1] - SKIN[i]))


def _shade(color, k):
    return tuple(int(max(0, min(255, c * k))) for c in color)


# ----------------------------------------------------------------------------- geometry


def _ellipse(cx, cy, rx, ry, a0=0.0, a1=2 * math.pi, n=40):
    """Points on an ellipse arc, angles measured from +x towards +y (down)."""
    t = np.linspace(a0, a1, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)


def _parabola(x0, x1, y_end, y_mid, n=24):
    """Points on y(x) through (x0, y_end), (0, y_mid), (x1, y_end): lips, hairlines."""
    x = np.linspace(x0, x1, n)
    return np.stack([x, y_end + (y_mid - y_end) * (1 - (x / x1) ** 2)], 1)


class _Canvas:
    """An ImageDraw wrapped with the face-local -> pixel affine map."""

    def __init__(self, size, background, center, scale, angle, stroke=1.0):
        self.image = Image.new("RGB", (size, size), background)
        self.draw = ImageDraw.Draw(self.image)
        self.size = size
        self.stroke = stroke  # line widths are canvas fractions at zoom 1: a zoomed face draws them this much wider
        c, s = math.cos(angle), math.sin(angle)
        self.rot = np.array([[c, -s], [s, c]]) * scale * size  # local units are canvas fractions
        self.center = np.asarray(center) * size

    def px(self, points):
        return [tuple(p) for p in np.asarray(points) @ self.rot.T + self.center]

    def polygon(self, points, fill):
        self.draw.polygon(self.px(points), fill=fill)

    def line(self, points, fill, width):
        w = max(1, round(width * self.stroke * self.size))
        self.draw.line(self.px(points), fill=fill, width=w, joint="curve")
        for end in (points[0], points[-1]):  # round caps, so thick strokes don't end square
            x, y = self.px([end])[0]
            self.draw.ellipse((x - w / 2, y - w / 2, x + w / 2, y + w / 2), fill=fill)


# ----------------------------------------------------------------------------- rendering


def render_face(factors, size: int = 64, version: int = VERSION) -> np.ndarray:
    """Render one face from a factor vector (order: FACTOR_NAMES) -> uint8 [size, size, 3]."""
    look = style_of(version)
    if size not in SIZES:
        raise ValueError(f"faces size must be one of {SIZES}, got {size}")
    f = dict(zip(FACTOR_NAMES, np.asarray(factors, dtype=float).tolist()))
    if len(f) != len(FACTORS):
        raise ValueError(f"render_face needs {len(FACTORS)} factors ({', '.join(FACTOR_NAMES)}), got {len(np.asarray(factors))}")
    big = size * SUPERSAMPLE
    background = tuple(int(255 * c) for c in colorsys.hsv_to_rgb(f["background_hue"], 0.28, 0.93))
    scale = look.zoom * (1.0 + 0.1 * f["scale"])
    center = (0.5 + 0.04 * f["offset_x"], look.center_y + 0.03 * f["offset_y"])
    canvas = _Canvas(big, background, center, scale, math.radians(15 * f["head_tilt"]), stroke=look.zoom)

    a = 0.185 + 0.05 * f["face_width"]  # face half-width (canvas fractions at scale 1)
    b = 0.245 + 0.05 * f["face_height"]  # face half-height
    skin = _skin(f["skin_tone"])
    hair = HAIR[int(f["hair_color"])]
    hairdo = FACTORS[F["hair_style"]].levels[int(f["hair_style"])]

    # Body: shoulders and neck stay untilted-looking because they extend off the canvas.
    canvas.polygon(_ellipse(0, b + 0.36, 0.42, 0.26), SHIRT)
    if hairdo == "long":  # hair falling behind the head to the shoulders
        back = np.concatenate([_ellipse(0, -0.04, a * 1.2, b * 1.12, math.pi, 2 * math.pi), [(a * 1.25, b * 1.45), (-a * 1.25, b * 1.45)]])
        canvas.polygon(back, hair)
    canvas.polygon([(-a * 0.42, 0), (a * 0.42, 0), (a * 0.46, b + 0.2), (-a * 0.46, b + 0.2)], _shade(skin, 0.9))
    for side in (-1, 1):  # ears
        canvas.polygon(_ellipse(side * a * 0.97, -0.02, 0.035, 0.06), _shade(skin, 0.93))

    # Face: an ellipse whose lower half tapers towards the chin.
    face = _ellipse(0, 0, a, b, n=64)
    face[:, 0] *= np.where(face[:, 1] > 0, 1 - 0.22 * (face[:, 1] / b) ** 2, 1)
    canvas.polygon(face, skin)

    mouth_y = 0.5 * b
    _facial_hair(canvas, int(f["facial_hair"]), face, a, b, mouth_y, _shade(hair, look.facial_hair_shade))
    canvas.polygon(_ellipse(0, 0.14 * b, 0.022, 0.03), _shade(skin, 0.86))  # nose shadow
    _mouth(canvas, f["smile"], f["mouth_open"], a, b, mouth_y, skin, look)
    _eyes(canvas, f, a, b, hair)
    _hair(canvas, hairdo, a, b, hair, skin)
    if f["glasses"] > 0:
        _glasses(canvas, FRAMES[int(f["glasses"])], a, b, look.frame_width)
    if f["hat"] > 0:
        _hat(canvas, int(f["hat"]), a, b)
    return np.asarray(canvas.image.reduce(SUPERSAMPLE))


def _facial_hair(canvas, kind, face, a, b, mouth_y, color):
    if kind == 3:  # full beard: jaw and chin up to a line that rises to the sideburns
        jaw = face[face[:, 1] > 0.05 * b]  # right cheek, round the chin, to the left cheek
        cheeks = _parabola(jaw[-1, 0], -jaw[-1, 0], jaw[-1, 1], 0.32 * b)  # back, left to right
        canvas.polygon(np.concatenate([jaw, cheeks]), color)
    if kind == 2:  # goatee: a patch from below the lip to the chin
        canvas.polygon(
            np.concatenate(
                [
                    _parabola(-0.2 * a, 0.2 * a, mouth_y + 0.16 * b, mouth_y + 0.14 * b),
                    _ellipse(0, mouth_y + 0.2 * b, 0.2 * a, 0.24 * b, 0, math.pi, n=16),
                ]
            ),
            color,
        )
    if kind in (1, 3):  # mustache (a full beard has one too)
        w = 0.36 * a
        top = _parabola(-w, w, mouth_y - 0.06 * b, mouth_y - 0.22 * b)
        bottom = _parabola(w, -w, mouth_y - 0.0 * b, mouth_y - 0.1 * b)
        canvas.polygon(np.concatenate([top, bottom]), color)


def _mouth(canvas, smile, opening, a, b, y, skin, look):
    """Corners rise with `smile` (and fall for a frown); `opening` parts the lips and
    shows the inside of the mouth and the upper teeth."""
    w = 0.3 * a * (1 + look.smile_widen * smile)
    corner_y = y - look.smile_lift * b * smile
    mid_y = y + 0.06 * b * smile
    gap = 0.32 * b * opening
    lips = _shade((200, 90, 90), 0.6 + 0.4 * (1 - 0.3 * (skin[0] < 160)))
    upper = _parabola(-w, w, corner_y, mid_y - look.upper_lip * gap)
    lower = _parabola(-w, w, corner_y, mid_y + (1 - look.upper_lip) * gap + 0.03 * b * max(smile, 0))
    if opening > 0.08:
        canvas.polygon(np.concatenate([upper, lower[::-1]]), MOUTH_INSIDE)
        teeth = upper.copy()
        teeth[:, 1] = np.minimum(upper[:, 1] + 0.4 * gap, lower[:, 1])
        canvas.polygon(np.concatenate([upper, teeth[::-1]]), TEETH)
    canvas.line(upper, lips, look.lip_width)
    canvas.line(lower, lips, look.lip_width if opening > 0.08 else look.lip_width * 6 / 11)


def _eyes(canvas, f, a, b, hair):
    eye_y = -0.2 * b
    rx = 0.19 * a
    ry = rx * (0.18 + 0.55 * f["eye_openness"])
    iris = IRIS[int(f["iris_color"])]
    brow_color = _shade(hair, 0.85)
    for side in (-1, 1):
        x = side * 0.42 * a
        canvas.polygon(_ellipse(x, eye_y, rx, ry), WHITE)
        r = min(0.58 * rx, ry * 0.95)  # the iris is clipped by the lids when the eye narrows
        canvas.polygon(_ellipse(x, eye_y, r, min(r, ry)), iris)
        canvas.polygon(_ellipse(x, eye_y, 0.45 * r, 0.45 * min(r, ry)), (15, 15, 20))
        canvas.line(_ellipse(x, eye_y, rx, ry, math.pi, 2 * math.pi, n=16), (40, 30, 30), 0.006)  # upper lid
        inner, outer = x - side * 0.05 * a, x + side * 0.36 * a
        lift = 0.07 * b * f["eyebrow_angle"]  # inner end up for worry, down for a stern look
        brow_y = eye_y - 0.19 * b
        canvas.line(
            np.array([(inner, brow_y - lift), ((inner + outer) / 2, brow_y - 0.03 * b), (outer, brow_y + 0.02 * b)]), brow_color, 0.014
        )


def _hair(canvas, style, a, b, color, skin):
    if style == "bald":
        canvas.polygon(_ellipse(-0.35 * a, -0.72 * b, 0.22 * a, 0.08 * b), _shade(skin, 1.08))  # scalp shine
        return
    # Cap over the skull: the top of a slightly larger ellipse, down to a hairline that
    # dips at the temples (sideburns) and, for bangs, covers the forehead.
    outer = _ellipse(0, -0.02, a * 1.08, b * 1.08, math.pi * 0.97, math.pi * 2.03, n=48)
    hairline_mid = -0.5 * b if style == "bangs" else -0.74 * b
    inner = _parabola(a * 0.93, -a * 0.93, -0.05 * b, hairline_mid)
    if style == "bangs":  # a ragged fringe: alternate the hairline down and up
        inner[1:-1:2, 1] += 0.05 * b
    canvas.polygon(np.concatenate([outer, inner]), color)


def _glasses(canvas, frame, a, b, width):
    eye_y = -0.2 * b
    r = 0.3 * a
    for side in (-1, 1):
        x = side * 0.42 * a
        canvas.line(_ellipse(x, eye_y, r, r * 0.85, n=36), frame, width)
        canvas.line(np.array([(side * (0.42 * a + r), eye_y - 0.02 * b), (side * a * 0.98, eye_y - 0.06 * b)]), frame, 0.009)
    canvas.line(np.array([(-0.42 * a + r, eye_y - 0.04 * b), (0, eye_y - 0.1 * b), (0.42 * a - r, eye_y - 0.04 * b)]), frame, 0.009)


def _hat(canvas, kind, a, b):
    color = HATS[kind]
    dome = _ellipse(0, -0.05, a * 1.16, b * 1.12, math.pi * 1.0, math.pi * 2.0, n=40)
    brim_y = -0.76 * b
    dome = dome[dome[:, 1] < brim_y]  # keep the forehead, and a fringe below, visible
    canvas.polygon(np.concatenate([dome, [(a * 1.1, brim_y), (-a * 1.1, brim_y)]]), color)
    if kind == 1:  # beanie: a folded band and a pompom
        canvas.polygon(
            [(-a * 1.12, brim_y), (a * 1.12, brim_y), (a * 1.1, brim_y - 0.2 * b), (-a * 1.1, brim_y - 0.2 * b)], _shade(color, 0.8)
        )
        canvas.polygon(_ellipse(0, -0.05 - b * 1.12, 0.04, 0.035), _shade(color, 1.25))
    else:  # cap: a brim sticking out to one side
        canvas.polygon(_ellipse(a * 0.55, brim_y, a * 0.95, 0.03), _shade(color, 0.75))
