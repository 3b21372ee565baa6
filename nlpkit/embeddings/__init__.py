"""Word embeddings: word2vec and GloVe training (torch), vectors and queries (numpy only)."""
