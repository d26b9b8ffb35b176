"""Importers for the public corpora in the data folder, one module per family of sources."""
