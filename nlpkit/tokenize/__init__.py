"""Tokenization: WordPiece vocabularies (``wordpiece``, ``wordpiece_train``), the ``tokenize train`` job
(``train``) and streaming encode/decode (``stream``). Imports neither torch nor datasets."""
