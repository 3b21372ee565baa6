"""Old name of ``nlpkit.tokenize.wordpiece``, kept so that existing imports work (the same module object)."""

import sys

from nlpkit.tokenize import wordpiece as _module

sys.modules[__name__] = _module
