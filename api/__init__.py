"""Request and response shapes (marshmallow schemas), one module per resource."""
