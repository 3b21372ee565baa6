"""Machine translation: parallel data, WordPiece vocabularies, recurrent (with and without
attention) and Transformer encoder-decoders, batched beam search, training, sacreBLEU evaluation.

Nothing here is imported by the CLI at start-up; torch loads only when a model is built or loaded.
"""
