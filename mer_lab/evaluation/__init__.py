"""Evaluation of the pipeline's outputs against ground truth (MEGC spotting metrics)."""
