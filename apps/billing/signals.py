"""Signals billing sends for the layers above it (they import billing; billing never them).

`access_changed` is sent inside the transaction of a change that may have changed these
users' Access (a webhook's rows, a reconcile, checkout, an admin's refresh), after the
rows changed and before commit: a receiver that writes to Postgres commits or rolls
back with the change. "May have": the receiver decides what actually changed.
"""

from django.dispatch import Signal

# kwargs: user_ids (frozenset[int])
access_changed = Signal()
