"""The domain: one level-based reconcile per kind, the wake rules, the typed queries, the composition root."""
