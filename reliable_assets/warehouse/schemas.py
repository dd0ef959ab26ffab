"""pandera contracts of the warehouse tables: what a published partition must look like."""

import pandera.pandas as pa
from pandera.typing import Series

from reliable_assets.raw.event_lines import EVENT_TYPES
from reliable_assets.toolkit.pandera_text import Text
from reliable_assets.warehouse.orders import ORDER_STATUSES

COUNTRIES = ["US", "DE", "GB", "FR", "JP", "BR", "CA", "unknown"]


class DimCustomers(pa.DataFrameModel):
    customer_id: Series[int] = pa.Field(gt=0)
    email: Series[Text] = pa.Field(str_contains="@")
    country: Series[Text] = pa.Field(isin=COUNTRIES)
    row_hash: Series[Text] = pa.Field(str_length={"min_value": 32, "max_value": 32})
    is_deleted: Series[bool]


class FactOrders(pa.DataFrameModel):
    order_id: Series[Text]
    customer_id: Series[int] = pa.Field(gt=0)
    status: Series[Text] = pa.Field(isin=sorted(ORDER_STATUSES))
    total_amount: Series[float] = pa.Field(ge=0)
    units_per_usd: Series[float] = pa.Field(gt=0)
    amount_usd: Series[float] = pa.Field(ge=0)
    is_deleted: Series[bool]


class DailyEvents(pa.DataFrameModel):
    event_id: Series[Text]
    user_id: Series[int] = pa.Field(gt=0)
    event_type: Series[Text] = pa.Field(isin=sorted(EVENT_TYPES))
    event_hour: Series[int] = pa.Field(in_range={"min_value": 0, "max_value": 23})


class UserFeatures(pa.DataFrameModel):
    user_id: Series[int] = pa.Field(gt=0)
    events: Series[int] = pa.Field(ge=0)
    orders_to_date: Series[int] = pa.Field(ge=0)
    revenue_to_date_usd: Series[float] = pa.Field(ge=0)


class DailyRevenue(pa.DataFrameModel):
    country: Series[Text] = pa.Field(isin=COUNTRIES)
    orders: Series[int] = pa.Field(gt=0)
    revenue_usd: Series[float] = pa.Field(ge=0)
