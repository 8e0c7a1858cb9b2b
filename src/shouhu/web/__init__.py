"""The web layer: app factory, middleware, authorisation dependencies, layout and assets."""
