// Corpora, vocabularies and id streams.
