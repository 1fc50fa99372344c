"""The generic controller machinery under the reconcilers; it imports nothing from the domain.

``reflector`` (list, then watch, into a ``store``), ``queue`` (the work queue), ``packing``
(objects kept as compact JSON).
"""
