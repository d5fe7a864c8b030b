"""Devices as people name them: "Chrome on Linux, 127.0.0.1", never a raw user-agent string.

ua-parser (with its bundled, regularly updated rules) does the parsing; this module only
picks the words people use for what it found.
"""

import ua_parser

UNKNOWN_BROWSER = "Unknown browser"

# ua-parser names the mobile builds and old OS brands apart; people don't.
_BROWSER_NAMES = {
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Android WebView",
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "Safari",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
}
_OS_NAMES = {"Mac OS X": "macOS"}


def device_description(*, user_agent: str, ip: str | None = None) -> str:
    """ "Chrome on Linux", "Safari on iOS", "Firefox" (system unknown) or "Unknown browser",
    followed by ", <ip>" when an address is given."""
    parsed = ua_parser.parse(user_agent) if user_agent else None
    browser = parsed.user_agent.family if parsed and parsed.user_agent else None
    system = parsed.os.family if parsed and parsed.os else None
    name = _BROWSER_NAMES.get(browser, browser) if browser else UNKNOWN_BROWSER
    if system:
        name = f"{name} on {_OS_NAMES.get(system, system)}"
    return f"{name}, {ip}" if ip else name
