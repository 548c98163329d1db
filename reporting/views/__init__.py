"""Pages of the top layer: a plan's page and its live progress (they read indicators and
budgets), its reports, and the public verification of signed reports."""
