"""Who spoke when: speaker embeddings, clustering and roles."""
