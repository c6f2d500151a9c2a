"""Redis sink: latest value per point, compare-and-set on timestamp inside Redis."""
