"""Named errors for reading training and evaluation data; each message is fit to show a user."""


class DatasetError(Exception):
    """A point dataset is missing, malformed, or does not match the stated layout."""


class LabelMapError(DatasetError):
    """A dataset label has no model class: map it with --label-map, or map it to `ignore`."""
