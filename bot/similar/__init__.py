"""Similar items: an offline index over item texts (character n-grams blended with static word
embeddings), kept in the database, searched in memory; `jerry items reindex|similar`."""
