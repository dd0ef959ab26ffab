"""pandera contracts of the raw layer: the shape the sources promised, not yet the business rules.

Invalid business values (a negative total, an unknown currency) are legitimate raw data that the
warehouse layer dead-letters; these contracts catch a source that changed shape.
"""

import pandera.pandas as pa
from pandera.typing import Series

from reliable_assets.raw.event_lines import EVENT_TYPES
from reliable_assets.toolkit.pandera_text import Text

SOURCE_TIMESTAMP = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"


class RawOrders(pa.DataFrameModel):
    order_id: Series[Text] = pa.Field(str_matches=r"^\S+$")
    customer_id: Series[int] = pa.Field(nullable=True)
    order_ts: Series[Text] = pa.Field(str_matches=SOURCE_TIMESTAMP)
    updated_at: Series[Text] = pa.Field(str_matches=SOURCE_TIMESTAMP)
    status: Series[Text]
    currency: Series[Text] = pa.Field(str_matches=r"^[A-Z]{3}$")
    total_amount: Series[float] = pa.Field(nullable=True)
    is_deleted: Series[int] = pa.Field(isin=[0, 1])


class RawEvents(pa.DataFrameModel):
    event_id: Series[Text]
    user_id: Series[int]
    session_id: Series[Text]
    event_type: Series[Text] = pa.Field(isin=sorted(EVENT_TYPES))
    page: Series[Text]


class RawFxRates(pa.DataFrameModel):
    currency: Series[Text] = pa.Field(str_matches=r"^[A-Z]{3}$")
    units_per_usd: Series[float] = pa.Field(gt=0)


class RawCustomers(pa.DataFrameModel):
    customer_id: Series[int] = pa.Field(unique=True, gt=0)
    email: Series[Text]
    country: Series[Text] = pa.Field(str_matches=r"^[A-Z]{2}$")
    signup_date: Series[Text] = pa.Field(str_matches=r"^\d{4}-\d{2}-\d{2}$")
