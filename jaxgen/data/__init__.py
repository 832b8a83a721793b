"""Datasets held in memory as arrays: sources, splits, preprocessing, augmentation."""
