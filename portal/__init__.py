"""Chairside: a server-rendered clinic portal for small dental practices."""
