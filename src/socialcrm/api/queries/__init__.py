"""Read and write operations of the service, one module per resource.

Each function takes the :class:`~socialcrm.api.service.Service` and the
:class:`~socialcrm.api.auth.Caller` and returns plain JSON-ready values; the REST routes
and the dashboard pages are thin layers over them.
"""
