"""HTTP transport (Sanic): routes, guards, middleware and the one error-to-HTTP mapping."""
