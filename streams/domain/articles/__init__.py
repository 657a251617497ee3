"""The article path's domain: metrics, entities and checkable claims from news text."""
