"""nlpkit: classic sequence models as command-line tools.

The package root imports nothing heavy (no torch, no datasets) so that quick commands start fast.
"""

__version__ = "0.1.0"
