"""The reconcile loop: one level-based reconcile per kind, fed by a work queue."""
