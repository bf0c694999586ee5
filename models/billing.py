"""Invoices ("Avisos de cobro") and the one money rule every surface agrees on.

Rounding rule: each line's amount is quantity x unit price rounded half-up to the
currency's minor unit; the invoice total is the sum of the rounded lines.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Decimals of each currency's minor unit, as gateways count them.
MINOR_UNIT_DIGITS = {"COP": 2, "USD": 2, "EUR": 2, "JPY": 0}
INVOICE_STATUS_LABELS = {"unpaid": _l("Unpaid"), "paid": _l("Paid"), "cancelled": _l("Cancelled")}


def quantize(amount: Decimal, currency: str) -> Decimal:
    digits = MINOR_UNIT_DIGITS.get(currency.upper(), 2)
    return Decimal(amount).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str, locale: str | None = None) -> str:
    """The amount, rounded by the rule above, written for the locale (current one by default)."""
    from babel.numbers import format_currency
    from flask_babel import get_locale

    locale = locale or str(get_locale() or "es")
    return format_currency(quantize(amount, currency), currency, locale=locale)


def to_minor_units(amount: Decimal, currency: str) -> int:
    digits = MINOR_UNIT_DIGITS.get(currency.upper(), 2)
    return int(quantize(amount, currency).scaleb(digits))


class Invoice(Model):
    __tablename__ = "invoice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False, index=True)
    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(String(20), default="unpaid", nullable=False)
    currency: Mapped[str] = mapped_column(String(3), default="COP", nullable=False)
    issued_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    due_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    # Sum of the rounded lines, kept so lists can show and sort it without loading lines.
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"), nullable=False)

    client = relationship("Client")
    lines = relationship("InvoiceLine", back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.id")

    def __init__(self, **kwargs):
        kwargs.setdefault("currency", "COP")  # the amounts are rounded in it before the row is saved
        super().__init__(**kwargs)

    def add_line(self, description: str, quantity: Decimal, unit_price: Decimal) -> "InvoiceLine":
        line = InvoiceLine(description=description, quantity=Decimal(quantity), unit_price=Decimal(unit_price))
        line.amount = quantize(line.quantity * line.unit_price, self.currency)
        self.lines.append(line)
        self.total = sum((ln.amount for ln in self.lines), Decimal("0"))
        return line

    def amount_due(self) -> str:
        return format_money(self.total, self.currency)

    def __repr__(self) -> str:
        return self.number


class InvoiceLine(Model):
    __tablename__ = "invoice_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"), nullable=False, index=True)
    description: Mapped[str] = mapped_column(String(250), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)

    invoice = relationship("Invoice", back_populates="lines")
