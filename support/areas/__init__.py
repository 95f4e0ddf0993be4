"""Readers of one area each, named as the area's feature (features/<area>.feature)."""
