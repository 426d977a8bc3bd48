"""A minimal project for alliance-platform-storage 0.0.5 (the reference), served side by side with ours.

It runs in a virtual environment of its own (``reference_env``): the reference and this library share the import
path ``alliance_platform.storage``, so they never meet in one process.
"""
