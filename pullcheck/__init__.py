"""kubectl pullcheck: explain why a pod cannot pull its image, with evidence."""

__version__ = "0.1.0"
