"""What a client has bought: services (software, sites, hosting) and domains."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import Date, DateTime, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.timeutil import utcnow

from flask_babel import lazy_gettext as _l

SERVICE_STATUS_LABELS = {"active": _l("Active"), "pending": _l("Pending"), "suspended": _l("Suspended"),
                         "cancelled": _l("Cancelled")}
DOMAIN_STATUS_LABELS = {"active": _l("Active"), "pending": _l("Pending"), "expired": _l("Expired"),
                        "cancelled": _l("Cancelled")}
BILLING_CYCLE_LABELS = {"monthly": _l("Monthly"), "quarterly": _l("Quarterly"), "yearly": _l("Yearly"),
                        "one_time": _l("One time")}


class Service(Model):
    __tablename__ = "service"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # The department slug that supports this service, so the ticket form can suggest it.
    department_slug: Mapped[str] = mapped_column(String(50), default="", nullable=False)
    status: Mapped[str] = mapped_column(String(20), default="active", nullable=False)
    billing_cycle: Mapped[str] = mapped_column(String(20), default="monthly", nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), default="COP", nullable=False)
    next_due_date: Mapped[Optional[dt.date]] = mapped_column(Date, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    client = relationship("Client")

    def price(self) -> str:
        from models.billing import format_money

        return format_money(self.amount, self.currency)

    def __repr__(self) -> str:
        return self.name


class Domain(Model):
    __tablename__ = "domain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(253), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active", nullable=False)
    registered_on: Mapped[Optional[dt.date]] = mapped_column(Date, nullable=True)
    expires_on: Mapped[Optional[dt.date]] = mapped_column(Date, nullable=True)
    auto_renew: Mapped[bool] = mapped_column(default=True, nullable=False)

    client = relationship("Client")

    def __repr__(self) -> str:
        return self.name
