"""cebra_data: a data layer for contrastive embedding of neural recordings."""

__version__ = "0.1.0"
