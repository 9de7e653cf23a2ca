"""Closing a clinic account: the owner's request, the whole-clinic export, the handover, the 30-day countdown."""
