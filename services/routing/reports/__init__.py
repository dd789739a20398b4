"""Regulatory and venue-quality reports over the router's recorded flow (pure computation).

No SQL, no clock: columnar inputs (:mod:`.model`) in, report dataclasses out.

* :mod:`.rule606` - SEC Rule 606(a)(1) quarterly routing report (held, non-directed orders);
* :mod:`.rule605` - SEC Rule 605 execution quality, as amended in 2024;
* :mod:`.markouts` - post-fill markouts per venue (toxicity) and the best-execution review;
* :mod:`.export` - CSV and the SEC 606 XML layout.

Units: inputs raw fixed point (``nexus.money``, scale 1e9); outputs in dollars, shares,
milliseconds, percent and basis points as named by each field.
"""
