"""Text side of the harness: class text styles, sentence encoders with an on-disk cache, word vectors."""
