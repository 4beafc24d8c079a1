"""The customer website: one module of views per area (see smmpanel/web/urls.py)."""
