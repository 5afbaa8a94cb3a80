"""The few named errors a user can act on. Each carries a message fit to show as it is."""


class TpsError(Exception):
    """Base of every error the scoring engine reports to a user."""


class SlideError(TpsError):
    """The file is not a slide we can read: unsupported, corrupt or truncated."""


class MissingMppError(SlideError):
    """The slide states no microns per pixel and none was given with --mpp."""


class ModelError(TpsError):
    """The ONNX model is missing, unreadable, or lacks the metadata the worker needs."""


class RoiError(TpsError):
    """The region-of-interest GeoJSON is unreadable or holds no polygon."""


class DamagedSlide(SlideError):
    """A slide container (TIFF, DICOM) that fails to parse or ends before its data."""


class UnscorableSlide(TpsError):
    """The slide opens but cannot be scored as it is: fluorescence, no colour, a resolution far
    coarser than the model's, declared dimensions beyond any real slide, an implausible mpp."""
