"""Find the ink in a photo or scan of paper: uneven light, shadows, printed lines and specks.

A phone photo's paper is not one grey. Light falls off across the sheet, a hand or the phone casts
a soft shadow, ruled or squared paper carries printed lines, the paper has a texture and JPEG adds
noise. "Ink is whatever is darker than the typical paper" then takes the shadow for ink. So the
paper is estimated first and divided out, and the threshold is chosen per image:

1. **paper**: a grey closing of a reduced copy (every dark feature narrower than a tenth of the
   image is filled with the paper around it), smoothed and enlarged back. Pen strokes vanish from
   it; gradients and shadows, which are wide, stay.
2. **darkness**: ``1 - pixel / paper`` in each colour channel, the largest of the channels, so a
   red or blue pen counts like black, and a shadow (darker paper) is divided away.
3. **threshold**: above the paper's own noise (its median absolute deviation) and a share of the
   strongest ink.
4. **lines**: rows, at a slight tilt, that are inked nearly from edge to edge are printed lines;
   they are removed except where a stroke crosses them. Then the same for columns (squared paper).
5. **specks**: pieces of ink much smaller than the largest piece are dropped.

Drawings made on a computer (flat paper, no noise) never come here: ``survey_paper`` decides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

# The closing's window, as a share of the image's shorter side: wider than a pen's stroke, and
# narrower than the strip of shade between a digit and a shadow's edge.
PAPER_WINDOW_SHARE = 0.1
# The paper is estimated on a copy reduced to about this many pixels on its shorter side.
PAPER_ESTIMATE_SIDE = 160
# Paper whose brightness along the border varies by more than this (5th to 95th percentile) is
# lit unevenly...
UNEVEN_PAPER = 0.06
# ...and paper with more noise than this (standard deviation, from the median absolute
# deviation, on the reduced copy) is a photo or a scan.
NOISY_PAPER = 0.002
# An image whose two most common greys (of GREY_BINS) hold this share of its pixels is a drawing.
GREY_BINS = 64
TWO_TONE_SHARE = 0.8
# Images smaller than this are digit crops or MNIST arrays, never photos of paper.
MIN_PHOTO_SIDE = 64
# Ink must stand out from the paper's noise by this many standard deviations...
NOISE_SIGMAS = 6.0
# ...and reach this share of the strongest ink (as INK_THRESHOLD in preprocess).
INK_SHARE = 0.25
MIN_DARKNESS = 0.08
# A printed line: a row (or column) inked over this share of the image's width, edge to edge.
LINE_COVER = 0.7
LINE_REACH = 0.9
LINE_TILTS_DEGREES = np.arange(-6.0, 6.01, 0.5)
# Pieces of ink smaller than this share of the largest piece are specks.
SPECK_SHARE = 0.04


def grey_of(pixels: np.ndarray) -> np.ndarray:
    """(H, W) grey of (H, W), (H, W, 1) or (H, W, 3) pixels (luminance weights for colour)."""
    if pixels.ndim == 2:
        return pixels
    if pixels.shape[2] == 1:
        return pixels[..., 0]
    return pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _channels(pixels: np.ndarray) -> np.ndarray:
    """(C, H, W) float32 channels."""
    if pixels.ndim == 2:
        return pixels[None].astype(np.float32)
    return np.moveaxis(pixels, 2, 0).astype(np.float32)


def _reduce(channels: np.ndarray) -> np.ndarray:
    """(C, H, W) averaged in blocks to about PAPER_ESTIMATE_SIDE pixels on the shorter side."""
    factor = max(1, min(channels.shape[1:]) // PAPER_ESTIMATE_SIDE)
    tensor = torch.from_numpy(np.ascontiguousarray(channels, dtype=np.float32))[None]
    # Averaging blocks also averages away most of the paper's texture and JPEG noise.
    return F.avg_pool2d(tensor, factor, ceil_mode=True)[0].numpy()


def _window(small: np.ndarray) -> int:
    return max(3, round(PAPER_WINDOW_SHARE * min(small.shape[1:])) | 1)


def paper_estimate(channels: np.ndarray) -> np.ndarray:
    """The paper's brightness under each pixel, per channel, with the ink closed over.

    ``channels`` is (C, H, W) with light paper (invert dark paper first).
    """
    height, width = channels.shape[1:]
    small = _reduce(channels)
    window = _window(small)
    closed = ndimage.grey_closing(small, size=(1, window, window), mode="nearest")
    # Smoothing removes the closing's blocky steps; a quarter window keeps shadow edges sharp.
    smooth = ndimage.uniform_filter(closed, size=(1, window // 4 | 1, window // 4 | 1))
    paper = F.interpolate(
        torch.from_numpy(smooth)[None], size=(height, width), mode="bilinear", align_corners=False
    )[0].numpy()
    return np.maximum(paper, 1e-3)


@dataclass
class PaperSurvey:
    """What the paper of an image is like, from a reduced copy (see ``survey_paper``)."""

    light: bool  # the strokes are darker than the paper
    uneven: bool  # its brightness varies across the image (light fall-off, shadow)
    noisy: bool  # it has texture or noise (a photo or scan; a computer drawing has none)
    two_tone: bool  # nearly every pixel is one of two greys: a drawing's paper and ink

    @property
    def is_photo(self) -> bool:
        """A photo or a scan, whose paper must be found before its ink."""
        return (self.uneven or self.noisy) and not self.two_tone


def survey_paper(grey: np.ndarray) -> PaperSurvey:
    """Look at the paper of an (H, W) grey image, whichever its shade.

    A median filter as wide as the closing's window gives the paper (strokes cover less than half
    of any window); what differs from it is ink, darker or lighter. (The border's brightness, which
    decides for clean drawings, misleads for a photo whose border is in shade.)
    """
    small = _reduce(grey[None])[0]
    background = ndimage.median_filter(small, size=_window(small[None]), mode="nearest")
    residual = small - background
    noise = 1.4826 * float(np.median(np.abs(residual)))
    darker = np.clip(-residual - 4 * noise, 0, None).sum()
    lighter = np.clip(residual - 4 * noise, 0, None).sum()
    # Unevenness is read along the border, where a drawing has no ink but light and shadow
    # fall across a photo's paper like anywhere else.
    ring = max(1, round(0.03 * min(small.shape)))
    border = np.concatenate(
        [
            small[:ring].ravel(),
            small[-ring:].ravel(),
            small[:, :ring].ravel(),
            small[:, -ring:].ravel(),
        ]
    )
    low, high = np.percentile(border, [5, 95])
    return PaperSurvey(
        light=bool(darker >= lighter),
        uneven=bool(high - low > UNEVEN_PAPER),
        noisy=noise > NOISY_PAPER,
        two_tone=is_two_tone(grey),
    )


def is_two_tone(grey: np.ndarray) -> bool:
    """Whether nearly every pixel of an (H, W) grey image is one of two greys.

    A drawing made on a computer has two (and their blend along the strokes' edges); light
    falling across paper, or a camera's noise, spreads the paper over many.
    """
    counts = np.histogram(grey[::2, ::2], bins=GREY_BINS, range=(0.0, 1.0))[0]
    return bool(np.sort(counts)[-2:].sum() / counts.sum() >= TWO_TONE_SHARE)


def darkness(pixels: np.ndarray, paper: np.ndarray | None = None) -> np.ndarray:
    """How much darker than its paper each pixel is, 0 to 1, the largest over colour channels
    (``paper`` as ``paper_estimate`` gives it for these pixels, computed when not given)."""
    channels = _channels(pixels)
    if paper is None:
        paper = paper_estimate(channels)
    return (1.0 - channels / paper).max(axis=0)


def threshold_ink(dark: np.ndarray) -> np.ndarray:
    """Ink strength in [0, 1]: darkness above a threshold chosen for this image, else 0."""
    centre = float(np.median(dark))
    noise = 1.4826 * float(np.median(np.abs(dark - centre)))
    # The strongest ink that fills a 2 x 2 square: single bright pixels of noise do not count.
    peak = float(
        np.minimum.reduce([dark[:-1, :-1], dark[1:, :-1], dark[:-1, 1:], dark[1:, 1:]]).max()
    )
    if peak - centre < MIN_DARKNESS:
        return np.zeros_like(dark, dtype=np.float32)
    threshold = max(centre + NOISE_SIGMAS * noise, centre + INK_SHARE * (peak - centre))
    ink = np.clip((dark - centre) / (peak - centre), 0.0, 1.0)
    ink[dark < threshold] = 0.0
    return ink.astype(np.float32)


def _line_tilt(rows: np.ndarray, columns: np.ndarray, width: int) -> float:
    """The tilt (degrees) at which inked pixels pile up most in few rows: the printed lines'."""

    def sharpness(tilt: float) -> float:
        shifted = rows - np.round(np.tan(np.radians(tilt)) * (columns - width / 2)).astype(int)
        counts = np.bincount(shifted - shifted.min()).astype(np.float64)
        return float((counts**2).sum())  # highest when the pixels share few rows

    return max(LINE_TILTS_DEGREES, key=sharpness)


def _remove_rows_of_lines(ink: np.ndarray) -> np.ndarray:
    """Remove printed lines running across ``ink`` (near-horizontal), keeping crossing strokes."""
    mask = ink > 0
    height, width = mask.shape
    rows, columns = np.nonzero(mask)
    if rows.size < LINE_COVER * width:
        return ink  # too little ink for even one line
    tilt = _line_tilt(rows, columns, width)
    shift_of_column = np.round(np.tan(np.radians(tilt)) * (np.arange(width) - width / 2))
    shift_of_column = shift_of_column.astype(np.int64)
    # Shear so that the lines are horizontal: row r of `sheared` follows the tilted line.
    margin = int(np.abs(shift_of_column).max())
    source_rows = np.arange(-margin, height + margin)[:, None] + shift_of_column[None, :]
    inside = (source_rows >= 0) & (source_rows < height)
    sheared = np.zeros(source_rows.shape, dtype=bool)
    column_index = np.broadcast_to(np.arange(width), source_rows.shape)
    sheared[inside] = mask[source_rows[inside], column_index[inside]]
    cover = sheared.sum(axis=1) / width
    reach = np.zeros(len(cover))
    for covered in np.flatnonzero(cover >= LINE_COVER):
        inked = np.flatnonzero(sheared[covered])
        reach[covered] = (inked[-1] - inked[0] + 1) / width
    line_rows = (cover >= LINE_COVER) & (reach >= LINE_REACH)
    if not line_rows.any():
        return ink
    cleaned = ink.copy()
    for band in ndimage.find_objects(ndimage.label(line_rows)[0]):
        top, bottom = band[0].start, band[0].stop  # the line's rows in `sheared`
        # A stroke crossing or touching the line continues just above or below it: keep those.
        above = sheared[max(top - 2, 0) : top].any(axis=0)
        below = sheared[bottom : bottom + 2].any(axis=0)
        erase_columns = ~(above | below)
        for row in range(top, bottom):
            source = source_rows[row]
            chosen = erase_columns & inside[row]
            cleaned[source[chosen], np.flatnonzero(chosen)] = 0.0
    return cleaned


def remove_printed_lines(ink: np.ndarray) -> np.ndarray:
    """Remove ruled lines (and squared paper's columns), keeping the strokes that cross them."""
    without_rows = _remove_rows_of_lines(ink)
    return _remove_rows_of_lines(without_rows.T).T.copy()


def remove_specks(ink: np.ndarray) -> np.ndarray:
    """Drop pieces of ink (8-connected) smaller than SPECK_SHARE of the largest piece."""
    labels, count = ndimage.label(ink > 0, structure=np.ones((3, 3)))
    if count <= 1:
        return ink
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    keep = sizes >= SPECK_SHARE * sizes.max()
    keep[0] = False
    return np.where(keep[labels], ink, 0.0).astype(np.float32)


@dataclass
class PaperSteps:
    """Every stage of finding ink on paper, for teaching (arrays (H, W), light paper)."""

    survey: PaperSurvey
    paper: np.ndarray  # the paper's brightness, estimated (the mean of the colour channels)
    darkness: np.ndarray  # 1 - pixel / paper, the largest over the channels
    ink: np.ndarray  # darkness above this image's threshold, 0 to 1
    cleaned: np.ndarray  # printed lines and specks removed: the ink map preprocessing crops


def paper_steps(pixels: np.ndarray) -> PaperSteps | None:
    """The stages for a photo or scan ((H, W) grey or (H, W, 3) colour in [0, 1], dark or light
    paper); None for a clean drawing or a small image, which the plain ink map reads as it is."""
    if min(pixels.shape[:2]) < MIN_PHOTO_SIDE:
        return None
    pixels = pixels.astype(np.float32)
    grey = grey_of(pixels)
    # A two-tone image is a drawing whatever else the survey finds: the cheap test first (the
    # survey's median filter is most of a drawing's preprocessing time).
    if is_two_tone(grey):
        return None
    survey = survey_paper(grey)
    if not survey.is_photo:
        return None
    if not survey.light:
        pixels = 1.0 - pixels
    paper = paper_estimate(_channels(pixels))
    dark = darkness(pixels, paper)
    ink = threshold_ink(dark)
    cleaned = remove_specks(remove_printed_lines(ink))
    return PaperSteps(survey, paper.mean(axis=0), dark, ink, cleaned)


def photo_ink(pixels: np.ndarray) -> np.ndarray | None:
    """The ink map of a photo or scan, or None for a clean drawing (see ``paper_steps``)."""
    steps = paper_steps(pixels)
    return None if steps is None else steps.cleaned
