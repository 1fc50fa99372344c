"""The generic controller machinery under the reconcilers; it imports nothing from the domain.

``reflector`` lists then watches into a ``store``; a change goes through the record of
``own_writes`` and the wake rules (``watches``) into the work ``queue``; ``apply`` writes an
owner's children; ``manager`` runs it all (with ``leader`` election); ``events`` posts Events;
``packing`` keeps objects as compact JSON.
"""
