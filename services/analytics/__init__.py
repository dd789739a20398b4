"""Portfolio analytics service."""
