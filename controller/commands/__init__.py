"""One module per CLI command: parse nothing, print results, return the exit code.

These modules do I/O (files, AWS, git, the terminal); the argument parser is in ``controller.cli``.
"""
