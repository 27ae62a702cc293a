"""The HTTP API and the operator page: a front end of the runtime's operator desk, served in the
controller's event loop (docs/api.md). Only the composition roots (app) import it."""
