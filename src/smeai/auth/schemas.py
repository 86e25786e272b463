"""What the accounts API, forms and `--json` accept and return."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator

from smeai.auth.permissions import OrgKind, Role
from smeai.i18n import N_
from smeai.inputs import RecordId
from smeai.taxonomy import DivisionCode, ProvinceCode, SectionCode


class SizeClass(StrEnum):
    MICRO = "micro"  # 微型
    SMALL = "small"  # 小型
    MEDIUM = "medium"  # 中型
    LARGE = "large"  # 大型


class RevenueBand(StrEnum):
    """近三年年均营业收入, 亿元: the survey codebook's bands."""

    B0_2 = "0-2"
    B2_4 = "2-4"
    B4_6 = "4-6"
    B6_8 = "6-8"
    B8_PLUS = "8+"


class ProfileIn(BaseModel):
    """The organisation profile an enterprise fills in once."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    industry_section: SectionCode
    mfg_division: DivisionCode | None = Field(default=None, validate_default=True)
    province_code: ProvinceCode
    city: str = Field(min_length=1, max_length=60)
    size_class: SizeClass
    revenue_band: RevenueBand
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    founded_year: int | None = Field(default=None, ge=1900, le=2100)
    credit_code: str | None = Field(default=None, pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
    description: str | None = Field(default=None, max_length=2000)
    website: str | None = Field(default=None, max_length=200, pattern=r"^https?://\S+$")

    @field_validator("mfg_division")
    @classmethod
    def _division_matches_section(cls, value: str | None, info: ValidationInfo) -> str | None:
        # codebook rule 3: a division only for manufacturing, and required there. A field validator
        # (not a model one) so that this is reported together with every other bad field.
        section = info.data.get("industry_section")
        if section == "C" and not value:
            raise ValueError(N_("Required for manufacturing (section C)."))
        if section and section != "C" and value:
            raise ValueError(N_("Only for manufacturing (section C)."))
        return value


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: OrgKind
    industry_section: str | None
    mfg_division: str | None
    province_code: str | None
    city: str | None
    size_class: str | None
    revenue_band: str | None
    employees: int | None
    founded_year: int | None
    credit_code: str | None
    description: str | None
    website: str | None


class OrganisationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=2, max_length=200)
    kind: OrgKind


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=10, max_length=200)
    role: Role
    org_id: RecordId


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    role: Role
    org_id: int


class MeOut(BaseModel):
    user: UserOut
    roles: list[Role]
    permissions: list[str]
    organisation: OrganisationOut


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=200)
    password: str = Field(min_length=1, max_length=200)


class TokenScope(StrEnum):
    FULL = "full"  # the user's rights
    READ = "read"  # GET, HEAD and OPTIONS only


class TokenIn(LoginIn):
    label: str | None = Field(default=None, max_length=100)
    scope: TokenScope = TokenScope.FULL
    days: int | None = Field(default=None, ge=1, le=3650, description="Lifetime; at most SMEAI_API_TOKEN_DAYS.")


class TokenOut(BaseModel):
    """The only answer that carries the secret: it is stored as a hash and never shown again."""

    id: int
    token: str
    token_type: str = "bearer"
    scope: TokenScope
    label: str | None
    expires_at: datetime | None


class TokenInfoOut(BaseModel):
    """An API token as listed: never its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    label: str | None
    scope: TokenScope
    created_at: datetime
    expires_at: datetime | None
    current: bool = False  # the token this request carries


class RevokedOut(BaseModel):
    revoked: int
