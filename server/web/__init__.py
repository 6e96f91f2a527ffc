"""The HTTP edge: request parsing, bodies, responses, auth and middlewares, routes."""
