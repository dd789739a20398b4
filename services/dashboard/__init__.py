"""The web dashboard: compliance, risk and execution pages served with the APIs behind them."""
