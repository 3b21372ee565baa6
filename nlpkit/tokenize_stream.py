"""Old name of ``nlpkit.tokenize.stream``, kept so that existing imports work (the same module object)."""

import sys

from nlpkit.tokenize import stream as _module

sys.modules[__name__] = _module
