"""Tokens for API clients (mobile apps, SPAs): allauth headless with a JWT strategy.

- conf.py      lifetimes, issuer, audience, limits (settings parsed once)
- models.py    signing keys in Postgres (private halves encrypted)
- keys.py      the process's key set: which key signs, which verify, the JWKS
- codec.py     encoding and local verification of the two token kinds
- verify.py    Tollgate's verification: local checks, then the session's state
- strategy.py  allauth's JWTTokenStrategy, subclassed: our keys, claims and refresh
- bearer.py    RFC 6750 for views: the header, the errors, `@token_required`
- views.py     /.well-known/jwks.json and /.well-known/openid-configuration

docs/architecture.md ("How a team and a token plug in") states the rule.
"""
