"""Class colours shared by the overlay and the QuPath GeoJSON, so both read the same way."""
from __future__ import annotations

# The canonical classes (docs/architecture.md); PD-L1 positive tumour red, negative blue.
CLASS_RGB: dict[str, tuple[int, int, int]] = {
    "tumor_pos": (220, 40, 40),
    "tumor_neg": (40, 90, 220),
    "nontumor_pos": (240, 160, 30),
    "nontumor_neg": (120, 200, 120),
}
# For a model with other class names: distinct colours, none close to the canonical ones.
FALLBACK_RGB = ((160, 60, 200), (0, 170, 170), (120, 80, 40), (90, 90, 90))


def class_colors(classes: tuple[str, ...]) -> list[tuple[int, int, int]]:
    """RGB per class id, in the model's class order."""
    return [CLASS_RGB.get(name, FALLBACK_RGB[i % len(FALLBACK_RGB)])
            for i, name in enumerate(classes)]
