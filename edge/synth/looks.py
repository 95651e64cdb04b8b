"""Lighting looks and camera degradations.

Looks: `day` (colour, uneven daylight), `ir` (a monochrome infrared ANPR camera: the scene dark,
retro-reflective plates glowing with dark characters), `night` (colour, dark, tinted street
light, plates lit by their lamps, glare around lamps). The background and each plate are lit
separately because plates reflect the camera's light far more than anything around them.

Degradations are what a real camera and link add: wrong exposure and gamma, motion and focus
blur, sensor noise, JPEG artefacts. Blur is capped by the smallest plate so that labels stay
readable by a person; unreadable plates with a text label would only teach the recogniser to
guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import cv2
import numpy as np

from edge.synth.raster import add_signed, jitter_colour, modulate, smooth_field

LOOKS = ("day", "ir", "night")
LOOK_SHARES = (0.55, 0.30, 0.15)  # of `mixed`
# a standard normal quantile per byte: noise from rng.bytes through a lookup table is several
# times faster than rng.normal at full frame size
_NORMAL_QUANTILES = np.array(
    [NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)], np.float32
)


def choose_look(rng: np.random.Generator, look: str) -> str:
    if look == "mixed":
        return LOOKS[int(rng.choice(len(LOOKS), p=LOOK_SHARES))]
    if look not in LOOKS:
        raise ValueError(f"look must be one of {', '.join(LOOKS)} or mixed, not {look!r}")
    return look


def light_background(rng: np.random.Generator, image: np.ndarray, look: str) -> np.ndarray:
    height, width = image.shape[:2]
    if look == "day":
        field = smooth_field(rng, height, width, int(rng.integers(2, 6)), 0.6, 1.25)
        tint = [float(g) for g in rng.uniform(0.93, 1.07, 3)]
        return cv2.multiply(modulate(image, field), (*tint, 1.0), dtype=cv2.CV_8U)
    field = _vignette(rng, height, width) * smooth_field(rng, height, width, 4, 0.7, 1.1)
    if look == "ir":
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        grey = cv2.multiply(grey, field * float(rng.uniform(0.2, 0.55)), dtype=cv2.CV_8U)
        return cv2.merge([grey, grey, grey])
    sodium = (0.55, 0.8, 1.0) if rng.random() < 0.6 else (1.0, 0.95, 0.9)
    darkened = modulate(image, field * float(rng.uniform(0.12, 0.35)))
    return cv2.multiply(darkened, (*sodium, 1.0), dtype=cv2.CV_8U)


def _vignette(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Brighter in the middle, as an IR illuminator or a headlight beam lights the scene."""
    ys = np.linspace(-1.0, 1.0, 24, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, 32, dtype=np.float32)[None, :] - float(rng.uniform(-0.4, 0.4))
    small = np.clip(1.3 - float(rng.uniform(0.3, 0.8)) * (xs**2 + ys**2), 0.2, 1.3)
    return cv2.resize(small.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def weather_plate(rng: np.random.Generator, plate: np.ndarray) -> np.ndarray:
    """Dirt, a shadow edge and glare on the plate's own surface (before it is warped)."""
    height, width = plate.shape[:2]
    if rng.random() < 0.3:  # dirt and road film in patches
        coverage = smooth_field(rng, height, width, int(rng.integers(4, 14)), -1.0, 1.0)
        alpha = np.clip(coverage, 0.0, 1.0) * float(rng.uniform(0.2, 0.6))
        grime = np.full_like(plate, jitter_colour(rng, (60, 80, 95), 20))
        plate = (plate + (grime.astype(np.float32) - plate) * alpha[..., None]).astype(np.uint8)
    if rng.random() < 0.25:  # the shadow of a bumper, a bike rack or a tree across the plate
        mask: np.ndarray = np.zeros((height, width), np.float32)
        a = (int(rng.integers(0, width)), 0)
        b = (int(rng.integers(0, width)), height)
        corner = (width, height) if rng.random() < 0.5 else (0, height)
        cv2.fillPoly(mask, [np.array([a, b, corner, (corner[0], 0)], np.int32)], 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.5, height * 0.05))
        plate = modulate(plate, 1.0 - mask * float(rng.uniform(0.3, 0.7)))
    if rng.random() < 0.15:  # a specular glint
        plate = add_signed(plate, _blob(rng, height, width) * float(rng.uniform(60, 200)))
    return plate


def _blob(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    sigma = max(1.0, height * float(rng.uniform(0.2, 0.6)))
    return np.exp(-((xs - cx) ** 2 + ((ys - cy) * 1.5) ** 2) / (2 * sigma**2))


def light_plate(rng: np.random.Generator, plate: np.ndarray, look: str) -> np.ndarray:
    if look == "day":
        return cv2.multiply(plate, (*[float(rng.uniform(0.75, 1.15))] * 3, 1.0), dtype=cv2.CV_8U)
    if look == "ir":  # retro-reflective sheeting: background near white, ink stays dark
        grey = cv2.cvtColor(plate, cv2.COLOR_BGR2GRAY)
        low, high = float(rng.uniform(0, 50)), float(rng.uniform(190, 255))
        curve = np.linspace(0.0, 1.0, 256) ** float(rng.uniform(0.6, 1.8))
        grey = cv2.LUT(grey, np.clip(low + (high - low) * curve, 0, 255).astype(np.uint8))
        return cv2.merge([grey, grey, grey])
    gain = float(rng.uniform(0.35, 0.9))
    return cv2.multiply(plate, (gain * 0.9, gain, gain, 1.0), dtype=cv2.CV_8U)


def add_glare(
    rng: np.random.Generator, image: np.ndarray, points: list[tuple[float, float]]
) -> None:
    """Headlamp bloom at night: a saturated disc with a soft halo at each lamp in the frame."""
    height, width = image.shape[:2]
    for x, y in points:
        if not (0 <= x < width and 0 <= y < height):
            continue
        radius = height * float(rng.uniform(0.01, 0.05)) + 1.0
        reach = int(radius * 4)  # the halo is negligible beyond this
        x0, y0 = max(0, int(x) - reach), max(0, int(y) - reach)
        x1, y1 = min(width, int(x) + reach + 1), min(height, int(y) + reach + 1)
        dy, dx = np.ogrid[y0 - y : y1 - y, x0 - x : x1 - x]
        distance = np.sqrt(dx.astype(np.float32) ** 2 + dy.astype(np.float32) ** 2) / radius
        light = np.where(distance < 1.0, 255.0, 220.0 * np.exp(-((distance - 1.0) ** 2)))
        halo = light.astype(np.uint8)
        image[y0:y1, x0:x1] = cv2.add(image[y0:y1, x0:x1], cv2.merge([halo, halo, halo]))


@dataclass(frozen=True)
class Degradation:
    gain: float
    gamma: float
    motion_px: float  # length of a linear motion blur, 0 for none
    motion_angle: float  # degrees
    blur_sigma: float  # gaussian (focus, optics), 0 for none
    noise_sigma: float  # grey levels
    colour_noise: bool
    jpeg_quality: int | None


def random_degradation(rng: np.random.Generator, look: str, plate_px: float) -> Degradation:
    """Camera faults for one frame; blur and compression are bounded by the smallest plate's
    height so that a person could still read every labelled plate."""
    motion_cap = min(12.0, 1.0 + 0.08 * plate_px)
    motion = float(rng.uniform(1.0, motion_cap)) if rng.random() < 0.3 else 0.0
    blur_cap = min(2.0, 0.2 + 0.02 * plate_px)
    blur = float(rng.uniform(0.2, blur_cap)) if rng.random() < 0.5 else 0.0
    noise_low, noise_high = {"day": (0.0, 7.0), "ir": (2.0, 12.0), "night": (4.0, 14.0)}[look]
    worst_jpeg = 30 if plate_px >= 30 else 55
    return Degradation(
        gain=float(np.clip(np.exp(rng.normal(0.0, 0.25)), 0.5, 1.8)),
        gamma=float(rng.uniform(0.7, 1.4)),
        motion_px=motion,
        motion_angle=float(rng.normal(0.0, 20.0)),
        blur_sigma=blur,
        noise_sigma=float(rng.uniform(noise_low, noise_high)),
        colour_noise=look != "ir" and rng.random() < 0.3,
        jpeg_quality=int(rng.integers(worst_jpeg, 96)) if rng.random() < 0.7 else None,
    )


def degrade(rng: np.random.Generator, image: np.ndarray, d: Degradation) -> np.ndarray:
    """Exposure, blur and noise (everything but compression: overlays come before that)."""
    levels = np.arange(256, dtype=np.float32) / 255.0
    image = cv2.LUT(image, np.clip(255.0 * (levels * d.gain) ** d.gamma, 0, 255).astype(np.uint8))
    if d.motion_px >= 1.0:
        image = cv2.filter2D(image, -1, _motion_kernel(d.motion_px, d.motion_angle))
    if d.blur_sigma > 0:
        image = cv2.GaussianBlur(image, (0, 0), d.blur_sigma)
    if d.noise_sigma > 0.5:
        image = _add_noise(rng, image, d.noise_sigma, d.colour_noise)
    return image


def _motion_kernel(length: float, angle: float) -> np.ndarray:
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    centre = size // 2
    dx, dy = np.cos(np.radians(angle)) * length / 2, np.sin(np.radians(angle)) * length / 2
    ends = (
        (round((centre - dx) * 16), round((centre - dy) * 16)),
        (round((centre + dx) * 16), round((centre + dy) * 16)),
    )
    cv2.line(kernel, ends[0], ends[1], 1.0, 1, cv2.LINE_AA, shift=4)
    return kernel / max(kernel.sum(), 1e-6)


def _add_noise(
    rng: np.random.Generator, image: np.ndarray, sigma: float, colour: bool
) -> np.ndarray:
    height, width = image.shape[:2]
    planes = 3 if colour else 1
    codes = np.frombuffer(rng.bytes(height * width * planes), np.uint8).reshape(
        height, width, planes
    )
    scaled = _NORMAL_QUANTILES * sigma
    up = np.clip(np.round(scaled), 0, 255).astype(np.uint8)
    down = np.clip(np.round(-scaled), 0, 255).astype(np.uint8)
    if colour:
        return cv2.subtract(cv2.add(image, cv2.LUT(codes, up)), cv2.LUT(codes, down))
    plane = codes[:, :, 0]
    raise_, lower = cv2.LUT(plane, up), cv2.LUT(plane, down)
    return cv2.subtract(cv2.add(image, cv2.merge([raise_] * 3)), cv2.merge([lower] * 3))


def compress(image: np.ndarray, quality: int | None) -> np.ndarray:
    """Re-encode as JPEG at `quality` (libjpeg is deterministic: same input, same bytes)."""
    if quality is None:
        return image
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    if decoded is None:
        raise RuntimeError("JPEG decoding failed")
    return decoded
