// Word vectors: formats, neighbours, analogies, evaluation.
