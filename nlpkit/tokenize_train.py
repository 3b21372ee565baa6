"""Old name of ``nlpkit.tokenize.train``, kept so that existing imports work (the same module object)."""

import sys

from nlpkit.tokenize import train as _module

sys.modules[__name__] = _module
