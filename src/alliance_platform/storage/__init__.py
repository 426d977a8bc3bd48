"""Async (direct-to-storage) file uploads for Django."""
