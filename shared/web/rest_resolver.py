"""Powertools' REST resolver without the other resolvers of its ``event_handler`` package.

That package's ``__init__`` imports every resolver Powertools has (AppSync, which loads
``asyncio``, Bedrock agents, VPC Lattice, function URLs, AppSync events, the HTTP resolver):
18 ms of CPU in every HTTP function's init (the refresh's import: 222 → 204 ms, bench/README.md,
"Cold starts"). The functions use ``APIGatewayRestResolver`` alone. So the
package is registered without running its ``__init__``, its ``api_gateway`` module imported,
and the package given the names its ``__init__`` takes from there: ``from
aws_lambda_powertools.event_handler import Response`` answers the same objects as before, and
the other resolvers' names are absent (an import of one fails at once, at init). Nothing
changes when the package was imported already. Import it before any other module of
``aws_lambda_powertools.event_handler`` (``shared.web.http`` does, first).
"""

from __future__ import annotations

import importlib.util
import sys

PACKAGE = "aws_lambda_powertools.event_handler"
# The names event_handler/__init__.py imports from api_gateway.
REST_NAMES = (
    "ALBResolver",
    "APIGatewayHttpResolver",
    "ApiGatewayResolver",
    "APIGatewayRestResolver",
    "CORSConfig",
    "Response",
)

if PACKAGE not in sys.modules:
    _spec = importlib.util.find_spec(PACKAGE)
    if _spec is None:
        raise ModuleNotFoundError(PACKAGE)
    _package = importlib.util.module_from_spec(_spec)  # its __path__, not its __init__
    sys.modules[PACKAGE] = _package
    from aws_lambda_powertools.event_handler import api_gateway as _api_gateway

    for _name in REST_NAMES:
        setattr(_package, _name, getattr(_api_gateway, _name))

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver, Response  # noqa: E402

__all__ = ["APIGatewayRestResolver", "Response"]
