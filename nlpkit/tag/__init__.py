"""Sequence tagging: CoNLL data, tagging schemes, BiLSTM/BERT taggers with a CRF, conlleval scores."""
