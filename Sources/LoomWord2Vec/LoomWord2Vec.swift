// word2vec training.
