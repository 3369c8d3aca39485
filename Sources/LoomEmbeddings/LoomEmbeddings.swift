// Word vectors on the host, after training: `WordVectors` and its files (word2vec text and binary,
// TensorBoard projector TSV, vocabulary), nearest neighbours and analogies by cosine similarity
// with OpenBLAS, and the standard evaluations (analogy questions, word-pair similarity) as gensim
// computes them.
