from django import template
from django.templatetags.static import static

register = template.Library()

# Providers with their own icon in static/icons/; any other (generic OpenID Connect) gets a key.
_ICONS = frozenset({"google", "github", "discord", "microsoft"})


@register.simple_tag
def provider_icon(provider_id: str) -> str:
    """The static URL of a sign-in provider's icon: "github" -> /static/icons/github.svg."""
    name = provider_id if provider_id in _ICONS else "openid"
    return static(f"icons/{name}.svg")
