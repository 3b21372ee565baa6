"""Old name of ``nlpkit.tokenize.wordpiece_train``, kept so that existing imports work (the same module object)."""

import sys

from nlpkit.tokenize import wordpiece_train as _module

sys.modules[__name__] = _module
