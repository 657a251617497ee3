"""windvane: an event-driven stream processor for market quotes and news, on Faust."""

__version__ = "0.1.0"
