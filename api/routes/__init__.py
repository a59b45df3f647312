"""The API's routes, one module per area; each module's `ROUTES` is registered by `api.app`."""
