"""Forms of the customer website, one module per area."""
