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

# Routes are matched in this order, one by one: the agent's hot paths (the queue, the 360°
# view) come first. No two routers share a path prefix, so the order changes nothing else.
ROUTERS = (
    routing.router,
    entities.router,
    overview.router,
    interactions.router,
    conversations.router,
    network.router,
    influence.router,
    tokens.router,
)
