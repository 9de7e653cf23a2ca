"""Imaging: X-rays, photos and scans — what a file is, how it is stored, and how it is drawn."""
