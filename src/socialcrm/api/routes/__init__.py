"""REST routes, one module per resource; every route names its permission (``x-permission``)."""

from socialcrm.api.routes import (
    conversations,
    entities,
    influence,
    interactions,
    network,
    overview,
    routing,
    tokens,
)

ROUTERS = (
    overview.router,
    entities.router,
    interactions.router,
    conversations.router,
    network.router,
    influence.router,
    routing.router,
    tokens.router,
)
