"""Litestar controllers: parse the request, call one domain function, render a template."""
