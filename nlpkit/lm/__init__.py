"""Language models: Kneser-Ney n-grams (numpy only) and neural LMs (nplm, rnn/gru/lstm, transformer).

The n-gram path (counting, estimation, ARPA, scoring, sampling) never imports torch; the neural
modules do, and are imported lazily by the functions that need them.
"""
