"""What the accounts API, forms and `--json` accept and return."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
)

from smeai.auth.permissions import OrgKind, Role
from smeai.i18n import N_
from smeai.inputs import RecordId
from smeai.taxonomy import DivisionCode, ProvinceCode, SectionCode
from smeai.taxonomy import load as taxonomy_load


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


# --- self-registration, members, personal data ------------------------------------------------------

# GB 32100-2015 统一社会信用代码: 18 characters from 31 (no I, O, Z, S, V); the 18th is a check character,
# 31 - (Σ value(c_i) × w_i mod 31) over the first 17, with 31 written as 0.
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def check_credit_code(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 18 or any(c not in CREDIT_CODE_CHARS for c in code) or not code[2:8].isdigit():
        raise ValueError(N_("A unified social credit code has 18 characters (digits and capital letters)."))
    if credit_check_char(code[:17]) != code[17]:
        raise ValueError(N_("The check character of this unified social credit code is wrong."))
    return code


CreditCode = Annotated[str, AfterValidator(check_credit_code)]

PASSWORD_RULE = N_(
    "At least 10 characters of two kinds (letters, digits, other signs or spaces), "
    "not a common password and not your email's name."
)
COMMON_PASSWORDS = frozenset(
    {"password123", "password1234", "1234567890a", "qwertyuiop1", "abc1234567", "a123456789", "1qaz2wsx3edc"}
)


def check_password(password: str, email: str | None = None) -> str:
    """The stated rule (PASSWORD_RULE): registration, reset, change and invitation all use it."""
    local = (email or "").partition("@")[0].lower()
    kinds = sum(
        [
            any(c.isalpha() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    weak = (
        len(password) < 10
        or kinds < 2
        or password.lower() in COMMON_PASSWORDS
        or (len(local) >= 4 and local in password.lower())
    )
    if weak:
        raise ValueError(PASSWORD_RULE)
    return password


def _province(value: str) -> str:
    text = str(value).strip()
    if len(text) == 6 and text.endswith("0000"):  # an administrative division code: 110000 is 北京
        text = text[:2]
    return text


def _industry(value: str) -> str:
    """A GB/T 4754 section letter (C), or a manufacturing division (36, C36): returned as C or C36."""
    text = str(value).strip().upper()
    if text.isdigit():
        text = "C" + text
    tax = taxonomy_load()
    if text in tax.sections:
        return text
    if len(text) == 3 and text[0] == "C" and text[1:] in tax.divisions:
        return text
    raise ValueError(N_("Unknown industry: a GB/T 4754 section letter or a manufacturing division (13 to 43)."))


class RegisterOrgIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=2, max_length=200)
    credit_code: CreditCode
    kind: Literal[OrgKind.ENTERPRISE, OrgKind.PROVIDER]
    province_code: Annotated[ProvinceCode, BeforeValidator(_province)]
    industry: Annotated[str, AfterValidator(_industry)] = Field(max_length=10)


class RegisterIn(BaseModel):
    """Sign-up. Registering is consent to the privacy notice of `privacy_version` (the current one when
    left out); the page asks for it with a checkbox."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr
    password: str = Field(min_length=1, max_length=200, description=PASSWORD_RULE)
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=30, pattern=r"^\+?[0-9 -]{5,30}$")
    organisation: RegisterOrgIn
    privacy_version: str | None = Field(default=None, max_length=20)

    @field_validator("password")
    @classmethod
    def _strong(cls, value: str, info: ValidationInfo) -> str:
        return check_password(value, info.data.get("email"))


class RegisteredOut(BaseModel):
    user_id: int
    email: str
    organisation_id: int
    # verify_email: a link was emailed; join_requested as well, and the organisation's admin decides
    status: Literal["verify_email", "join_requested"]


class LinkTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=500)


class EmailIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(min_length=3, max_length=200)


class PasswordResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=500)
    password: str = Field(min_length=1, max_length=200, description=PASSWORD_RULE)


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200, description=PASSWORD_RULE)


class EmailChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr
    password: str = Field(min_length=1, max_length=200)


class OrgRole(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr
    org_role: OrgRole = OrgRole.MEMBER


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    org_role: OrgRole
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None


class AcceptInvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    token: str = Field(min_length=10, max_length=500)
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200, description=PASSWORD_RULE)


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    org_role: OrgRole
    membership: Literal["active", "pending"]
    is_active: bool
    last_login_at: datetime | None


class MemberRoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_role: OrgRole


class JoinDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accept: bool


class VerificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: OrgKind
    credit_code: str | None
    province_code: str | None
    verification: Literal["pending", "verified", "returned"]
    verification_note: str | None
    licence_uploaded_at: datetime | None
    created_at: datetime


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=2, max_length=1000)


class SessionOut(BaseModel):
    """A login session as listed (never its secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    expires_at: datetime | None
    current: bool = False


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    privacy_version: str = Field(min_length=1, max_length=20)


class NotificationPrefsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    off: list[Literal["verification", "engagement", "voucher", "review"]] = Field(default_factory=list, max_length=4)


class DeleteAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=200)


class AcceptedOut(BaseModel):
    """202: the request is taken; what happens next arrives by email."""

    detail: str
