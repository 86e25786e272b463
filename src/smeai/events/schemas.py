"""What the events API, forms and `--json` accept and return."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from smeai import taxonomy
from smeai.inputs import RecordId
from smeai.taxonomy import ProvinceCode, SectionCode

MAX_CAPACITY = 10_000
MAX_SPEAKERS = 20
MAX_LIST = 40


class EventKind(StrEnum):
    COURSE = "course"  # 技能培训 / AI 素养培训
    SEMINAR = "seminar"  # 研讨会、行业峰会
    MATCHMAKING = "matchmaking"  # 供需对接活动
    SITE_VISIT = "site_visit"  # 标杆现场观摩
    LAUNCH = "launch"  # 解决方案发布会
    COMPETITION = "competition"  # 创新创业大赛


class EventStatus(StrEnum):
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class RegistrationStatus(StrEnum):
    REGISTERED = "registered"  # holds a seat
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class MeetingStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


def _stage(code: str) -> str:
    if code not in taxonomy.load().stages:
        raise ValueError(f"unknown stage {code!r}")
    return code


StageCode = Annotated[str, AfterValidator(_stage)]


class SpeakerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)]
    affiliation: Annotated[str, Field(max_length=200)] | None = None
    topic: Annotated[str, Field(max_length=200)] | None = None
    provider_org_id: RecordId | None = None  # a provider from the catalog; None: an expert


class EventIn(BaseModel):
    """An event as an operator publishes it. Times are aware datetimes (the form reads them in China time)."""

    model_config = ConfigDict(extra="forbid")
    kind: EventKind
    title: Annotated[str, Field(min_length=2, max_length=200)]
    summary: Annotated[str, Field(min_length=2, max_length=4000)]
    agenda: Annotated[str, Field(max_length=4000)] | None = None
    starts_at: datetime
    ends_at: datetime
    place: Annotated[str, Field(max_length=300)] | None = None
    online_url: Annotated[str, Field(max_length=500, pattern=r"^https?://\S+$")] | None = None
    capacity: Annotated[int, Field(ge=1, le=MAX_CAPACITY)]
    industries: Annotated[list[SectionCode], Field(max_length=MAX_LIST)] = []
    provinces: Annotated[list[ProvinceCode], Field(max_length=MAX_LIST)] = []
    stages: Annotated[list[StageCode], Field(max_length=MAX_LIST)] = []
    topics: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=MAX_LIST)] = []
    slot_minutes: Annotated[int, Field(ge=5, le=120)] | None = None
    speakers: Annotated[list[SpeakerIn], Field(max_length=MAX_SPEAKERS)] = []

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("a time with its time zone")
        return v

    @model_validator(mode="after")
    def _coherent(self) -> EventIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("the event must end after it starts")
        if not self.place and not self.online_url:
            raise ValueError("a place or an online link")
        if self.kind == EventKind.MATCHMAKING and self.slot_minutes is None:
            self.slot_minutes = 20
        return self


class SpeakerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    affiliation: str | None
    topic: str | None
    provider_org_id: int | None


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: EventKind
    title: str
    summary: str
    agenda: str | None
    starts_at: datetime
    ends_at: datetime
    place: str | None
    online_url: str | None
    capacity: int
    seats_taken: int
    industries: list[str]
    provinces: list[str]
    stages: list[str]
    topics: list[str]
    slot_minutes: int | None
    status: EventStatus
    speakers: list[SpeakerOut]


class RegistrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    event_id: int
    org_id: int
    status: RegistrationStatus
    waitlist_no: int | None
    registered_at: datetime
    checked_in_at: datetime | None
    satisfaction: int | None


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    satisfaction: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, Field(max_length=2000)] | None = None


class MeetingIn(BaseModel):
    """A meeting booked by one side: the other party, the slot, and what it is about (a need, an offering)."""

    model_config = ConfigDict(extra="forbid")
    with_org_id: RecordId
    slot_at: datetime
    need_id: RecordId | None = None
    offering_id: RecordId | None = None
    topic: Annotated[str, Field(max_length=300)] | None = None

    @field_validator("slot_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("a time with its time zone")
        return v


class MeetingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    event_id: int
    slot_at: datetime
    enterprise_org_id: int
    provider_org_id: int
    need_id: int | None
    offering_id: int | None
    topic: str | None
    status: MeetingStatus
    engagement_id: int | None
