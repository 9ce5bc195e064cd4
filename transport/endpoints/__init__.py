"""One module per resource; every module here is registered as a Blueprint by the app factory."""
