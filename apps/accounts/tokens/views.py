"""The documents that let anyone verify our access tokens: the JWKS and its discovery."""

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from apps.core.activity import not_activity

from . import conf, keys


def _public(body: dict[str, object]) -> JsonResponse:
    response = JsonResponse(body)
    # Short: a relying party learns of a new key within publish_ahead() (keys.py).
    response["Cache-Control"] = f"public, max-age={conf.JWKS_MAX_AGE}"
    response["Access-Control-Allow-Origin"] = "*"  # public keys, for SPAs on any origin
    return response


@not_activity
@require_safe
def jwks(request: HttpRequest) -> JsonResponse:
    """`GET /.well-known/jwks.json`: every public key a valid access token may name."""
    return _public(keys.jwks())


@not_activity
@require_safe
def openid_configuration(request: HttpRequest) -> JsonResponse:
    """`GET /.well-known/openid-configuration`: the fields of OpenID Connect Discovery that
    apply to a token issuer without an authorization endpoint of its own."""
    return _public(
        {
            "issuer": conf.issuer(),
            "jwks_uri": conf.issuer() + reverse("tokens_jwks"),
            "id_token_signing_alg_values_supported": [conf.ALGORITHM],
            "subject_types_supported": ["public"],
            "claims_supported": ["iss", "aud", "sub", "sid", "gen", "jti", "iat", "nbf", "exp"],
        }
    )
