"""Risk service: the halt registry that the matching engine and the router obey."""
