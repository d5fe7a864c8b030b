from django import template

register = template.Library()

_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


@register.filter
def money(amount: int | None, currency: str = "usd") -> str:
    """Minor units to a display price: 1200, "usd" -> "$12" (cents only when present)."""
    value = (amount or 0) / 100
    text = f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
    symbol = _SYMBOLS.get((currency or "").lower())
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"
