"""Reads that shape billing data for display. Postgres only; nothing here calls Stripe."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from djstripe.models import Invoice, Subscription

from apps.accounts.models import User
from apps.billing import selectors as billing
from apps.billing.access.rules import TRIALING, Access
from apps.billing.stripe_data import subscription_items, subscription_period_end, timestamp


@dataclass(frozen=True)
class InvoiceRow:
    number: str
    created: datetime | None
    amount: int  # in the currency's smallest unit
    currency: str
    status: str
    hosted_url: str | None
    pdf_url: str | None


@dataclass(frozen=True)
class NextInvoice:
    amount: int
    currency: str
    date: datetime | None


def plan_name(access: Access, subscription: Subscription | None) -> str:
    """The catalog name ("Pro") of the plan the member pays for, or last subscribed to
    when that subscription no longer grants (past due, expired, canceled); "Free" without one."""
    if access.plan is not None:
        return billing.plan_name(access.plan)
    product = billing.subscription_product(subscription) if subscription else None
    return product.name if product is not None else "Free"


def trial_days_left(access: Access, *, now: datetime) -> int | None:
    """Whole days (rounded up) until a trial ends; None when not trialing."""
    if access.status != TRIALING or access.trial_end is None:
        return None
    return max(0, math.ceil((access.trial_end - now) / timedelta(days=1)))


def invoice_rows(user: User) -> list[InvoiceRow]:
    return [_invoice_row(invoice) for invoice in billing.invoices_for_user(user)]


def _invoice_row(invoice: Invoice) -> InvoiceRow:
    data = invoice.stripe_data
    return InvoiceRow(
        number=data.get("number") or invoice.id,
        created=timestamp(data.get("created")),
        amount=int(data.get("total") or data.get("amount_due") or 0),
        currency=data.get("currency") or "usd",
        status=data.get("status") or "",
        hosted_url=data.get("hosted_invoice_url"),
        pdf_url=data.get("invoice_pdf"),
    )


def next_invoice(subscription: Subscription | None, access: Access) -> NextInvoice | None:
    """What the next renewal will charge and when; None when nothing will renew."""
    if subscription is None or not access.is_paid or access.cancel_at_period_end:
        return None
    data = subscription.stripe_data
    amount = sum(
        int((item.get("price") or {}).get("unit_amount") or 0) * int(item.get("quantity") or 1)
        for item in subscription_items(data)
    )
    return NextInvoice(
        amount=amount,
        currency=data.get("currency") or "usd",
        date=subscription_period_end(data),
    )
