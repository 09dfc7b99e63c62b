"""The web layer: middleware, templating, the dashboard shell and the core's pages."""
