"""A pinhole camera looking at a plate and the vehicle face it is fixed to.

The plate plane is posed in 3D (yaw, pitch, roll, distance) and projected, so a plate and the
bumper, lights and grille drawn around it share one perspective. Coordinates on the plane are
millimetres from the plate centre, x right and y down; image coordinates are pixels with pixel
centres at integers (OpenCV's convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Pose:
    yaw: float  # degrees, turn about the vertical axis
    pitch: float  # degrees, positive when the camera looks down on the plate
    roll: float  # degrees, in-image rotation
    distance_mm: float
    focal_px: float
    centre: tuple[float, float]  # where the plate centre lands in the image


def random_pose(
    rng: np.random.Generator,
    plate_height_mm: float,
    plate_height_px: float,
    centre: tuple[float, float],
    max_angle: float = 25.0,
) -> Pose:
    """A pose whose plate appears about `plate_height_px` high, with angles mostly small.

    Angles are normal with a spread of a third of `max_angle` and clipped to it: most plates
    face the camera fairly squarely, a few are seen at a steep angle. The distance gives weak
    (telephoto ANPR camera) to strong (phone at a kerb) perspective.
    """
    spread = max_angle / 3.0
    yaw = float(np.clip(rng.normal(0.0, spread * 1.2), -max_angle, max_angle))
    pitch = float(np.clip(rng.normal(spread * 0.6, spread), -max_angle / 2, max_angle))
    roll = float(np.clip(rng.normal(0.0, spread * 0.5), -max_angle / 2, max_angle / 2))
    distance = float(np.exp(rng.uniform(np.log(2500.0), np.log(20000.0))))
    focal = plate_height_px * distance / plate_height_mm
    return Pose(yaw, pitch, roll, distance, focal, centre)


def _rotation(pose: Pose) -> np.ndarray:
    yaw, pitch, roll = np.radians([pose.yaw, pose.pitch, pose.roll])
    cy, sy, cp, sp, cr, sr = (
        np.cos(yaw),
        np.sin(yaw),
        np.cos(pitch),
        np.sin(pitch),
        np.cos(roll),
        np.sin(roll),
    )
    turn = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    tilt = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    spin = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return spin @ tilt @ turn


def plane_to_image(pose: Pose) -> np.ndarray:
    """The 3x3 homography from plane millimetres to image pixels."""
    rotation = _rotation(pose)
    intrinsics = np.array(
        [[pose.focal_px, 0, pose.centre[0]], [0, pose.focal_px, pose.centre[1]], [0, 0, 1]]
    )
    # a plane point (x, y, 0) maps to R[:, 0] x + R[:, 1] y + (0, 0, distance)
    extrinsics = np.column_stack([rotation[:, 0], rotation[:, 1], [0.0, 0.0, pose.distance_mm]])
    return intrinsics @ extrinsics


def project(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, 2) plane points to (N, 2) image points; points behind the camera are pushed to
    just in front of it, which only matters for shapes far outside the picture."""
    homogeneous = np.column_stack([points, np.ones(len(points))]) @ homography.T
    depth = np.maximum(homogeneous[:, 2:3], 1e-3 * np.abs(homography[2, 2]))
    return homogeneous[:, :2] / depth


def plate_corners(homography: np.ndarray, size_mm: tuple[float, float]) -> np.ndarray:
    half_w, half_h = size_mm[0] / 2, size_mm[1] / 2
    outline = np.array([[-half_w, -half_h], [half_w, -half_h], [half_w, half_h], [-half_w, half_h]])
    return project(homography, outline)


def bounding_box(corners: np.ndarray) -> tuple[int, int, int, int]:
    """Integer (x, y, w, h) covering every pixel the outline touches."""
    x0, y0 = np.floor(corners.min(axis=0) + 0.5).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0) + 0.5).astype(int)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def paste_warped(
    canvas: np.ndarray,
    image: np.ndarray,
    alpha: np.ndarray,
    homography: np.ndarray,
    size_mm: tuple[float, float],
) -> None:
    """Warp a front-on plate image (covering `size_mm`) onto `canvas` through the plane's
    homography, blending by its alpha. Only the plate's bounding box is warped."""
    height, width = image.shape[:2]
    # plate pixel -> plane mm: pixel centres at integers, the image edges at -0.5 and size-0.5
    to_plane = np.array(
        [
            [size_mm[0] / width, 0, size_mm[0] / width * 0.5 - size_mm[0] / 2],
            [0, size_mm[1] / height, size_mm[1] / height * 0.5 - size_mm[1] / 2],
            [0, 0, 1],
        ]
    )
    x, y, w, h = bounding_box(plate_corners(homography, size_mm))
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, canvas.shape[1]), min(y + h, canvas.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64)
    warp = shift @ homography @ to_plane
    rgba = cv2.merge([*cv2.split(image), alpha])
    warped = cv2.warpPerspective(rgba, warp, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
    cover = warped[:, :, 3:4].astype(np.float32) * (1.0 / 255.0)
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    blended = region + (warped[:, :, :3].astype(np.float32) - region) * cover
    canvas[y0:y1, x0:x1] = (blended + 0.5).astype(np.uint8)
