"""The cross-cutting core: tenants, the org-unit tree, agencies, users and their roles."""

from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node


class Tenant(models.Model):  # type: ignore[django-manager-missing]  # treebeard is untyped
    """One province's health administration; every tenant-owned row points here."""

    slug = models.SlugField(_("slug"), unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OrgUnit(MP_Node):
    """A node of nation › province › (district ›) commune › facility › site.

    A materialised path, so that a subtree is one indexed prefix query. The tree is today's:
    the 34 provinces of 1 July 2025 under the nation, each holding its communes and, beneath
    it, the former provinces it took over with their districts and communes. Units abolished
    by a reorganisation keep their rows (valid_to) and name their successors
    (`UnitSuccession`), so that older plans stay readable and a role held on today's province
    reaches its whole history.
    """

    class Level(models.TextChoices):
        NATION = "nation", _("nation")
        PROVINCE = "province", _("province")
        DISTRICT = "district", _("district / city / town")
        COMMUNE = "commune", _("commune / ward / township")
        FACILITY = "facility", _("facility")

    class FacilityKind(models.TextChoices):
        STATION = "station", _("commune health station")
        HEALTH_CENTRE = "health_centre", _("health centre")
        HOSPITAL = "hospital", _("hospital")
        SITE = "site", _("station site")

    class UnitType(models.TextChoices):
        """The official kind of an administrative unit, as the General Statistics Office lists it."""

        PROVINCE = "tinh", _("province (tỉnh)")
        CITY = "thanh_pho", _("city (thành phố)")
        RURAL_DISTRICT = "huyen", _("rural district (huyện)")
        URBAN_DISTRICT = "quan", _("urban district (quận)")
        TOWN = "thi_xa", _("town (thị xã)")
        COMMUNE = "xa", _("commune (xã)")
        WARD = "phuong", _("ward (phường)")
        TOWNSHIP = "thi_tran", _("township (thị trấn)")
        SPECIAL_ZONE = "dac_khu", _("special zone (đặc khu)")

    code = models.SlugField(_("code"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    facility_kind = models.CharField(_("kind of facility"), max_length=16, choices=FacilityKind.choices, blank=True)
    tenant = models.ForeignKey(
        Tenant,
        verbose_name=_("tenant"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="org_units",
    )
    official_code = models.CharField(
        _("official code"),
        max_length=8,
        blank=True,
        db_index=True,
        help_text=_("The General Statistics Office's code."),
    )
    unit_type = models.CharField(_("type"), max_length=16, choices=UnitType.choices, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    is_demo = models.BooleanField(
        _("demo unit"), default=False, help_text=_("Added for demonstration; not named by any document.")
    )

    class Meta:
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gte=models.F("valid_from")),
                name="orgunit_valid_range",
            ),
            models.CheckConstraint(
                condition=Q(level="nation", tenant__isnull=True) | (~Q(level="nation") & Q(tenant__isnull=False)),
                name="orgunit_tenant_except_nation",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def valid_on(self, day: date) -> bool:
        return self.exists_between(day, day)

    def exists_between(self, start: date, end: date) -> bool:
        """Whether the unit exists on some day from `start` to `end`."""
        return (self.valid_from is None or self.valid_from <= end) and (self.valid_to is None or start <= self.valid_to)

    @staticmethod
    def valid_on_q(day: date, prefix: str = "") -> Q:
        """Units that exist on `day` (an open end means since ever / until now)."""
        return (Q(**{f"{prefix}valid_from__isnull": True}) | Q(**{f"{prefix}valid_from__lte": day})) & (
            Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gte": day})
        )

    @staticmethod
    def overlaps_q(start: date, end: date, prefix: str = "") -> Q:
        """Units that exist on some day from `start` to `end`."""
        return (Q(**{f"{prefix}valid_from__isnull": True}) | Q(**{f"{prefix}valid_from__lte": end})) & (
            Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gte": start})
        )


class Reorganisation(models.Model):
    """A change of the administrative units that takes effect on one day: units merged, divided,
    renamed or moved. Recorded by a superuser, previewed, then applied as one transaction by
    `healthplans.reorganisation.reorganisation_apply`; nothing it touches is deleted."""

    title = models.CharField(_("title"), max_length=300)
    decision = models.CharField(_("decision"), max_length=300, blank=True, help_text=_("Số/ký hiệu and date."))
    effective_on = models.DateField(_("effective on"))
    changes = models.JSONField(_("changes"), default=list, blank=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    applied_by = models.CharField(_("applied by"), max_length=150, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        verbose_name = _("reorganisation")
        verbose_name_plural = _("reorganisations")
        ordering = ["-effective_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.effective_on:%d/%m/%Y} · {self.title}"


class UnitSuccession(models.Model):
    """An ended unit's territory (or part of it, by `share`) went into `successor`."""

    predecessor = models.ForeignKey(
        OrgUnit, verbose_name=_("predecessor"), on_delete=models.PROTECT, related_name="successions"
    )
    successor = models.ForeignKey(
        OrgUnit, verbose_name=_("successor"), on_delete=models.PROTECT, related_name="inheritances"
    )
    share = models.DecimalField(
        _("share"),
        max_digits=5,
        decimal_places=4,
        default=Decimal(1),
        help_text=_("The part of the predecessor that went into the successor (1 = all of it)."),
    )
    is_default = models.BooleanField(
        _("default successor"), default=True, help_text=_("Where its roles and unassigned records go.")
    )
    reorganisation = models.ForeignKey(
        Reorganisation,
        verbose_name=_("reorganisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="successions",
    )

    class Meta:
        verbose_name = _("succession")
        verbose_name_plural = _("successions")
        constraints = [
            models.UniqueConstraint(fields=["predecessor", "successor"], name="succession_unique"),
            models.UniqueConstraint(
                fields=["predecessor"], condition=Q(is_default=True), name="succession_one_default"
            ),
            models.CheckConstraint(condition=Q(share__gt=0) & Q(share__lte=1), name="succession_share_range"),
            models.CheckConstraint(condition=~Q(predecessor=models.F("successor")), name="succession_not_itself"),
        ]

    def __str__(self) -> str:
        return f"{self.predecessor} → {self.successor} ({self.share})"


class Agency(models.Model):
    """A body that leads or coordinates tasks (Sở Y tế, Trung tâm Y tế, UBND xã …)."""

    class Kind(models.TextChoices):
        PEOPLE_COMMITTEE = "people_committee", _("people's committee")
        HEALTH_DEPARTMENT = "health_department", _("department of health")
        HEALTH_CENTRE = "health_centre", _("health centre")
        HOSPITAL = "hospital", _("hospital")
        HEALTH_STATION = "health_station", _("health station")
        FINANCE = "finance", _("finance")
        EDUCATION = "education", _("education")
        LABOUR = "labour", _("labour and social affairs")
        CULTURE = "culture", _("culture")
        INFORMATION = "information", _("information and communications")
        POLICE = "police", _("police")
        MILITARY = "military", _("military")
        UNION = "union", _("mass organisation")
        OTHER = "other", _("other")

    tenant = models.ForeignKey(Tenant, verbose_name=_("tenant"), on_delete=models.PROTECT, related_name="agencies")
    code = models.SlugField(_("code"), max_length=80)
    name = models.CharField(_("name"), max_length=300)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices, default=Kind.OTHER)
    org_unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("org unit"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="agencies",
    )

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="agency_unique_code_per_tenant")]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person; what they may see and do comes from their role assignments."""


class Role(models.TextChoices):
    PLANNER = "planner", _("planner")
    STATION_REPORTER = "station_reporter", _("station reporter")
    REVIEWER = "reviewer", _("reviewer")
    OFFICIAL = "official", _("official")
    NATIONAL_VIEWER = "national_viewer", _("national viewer")
    TENANT_ADMIN = "tenant_admin", _("tenant admin")


class RoleAssignment(models.Model):
    """A role held on an org unit; it reaches the unit's whole subtree."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="role_assignments")
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="role_assignments"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(fields=["user", "org_unit", "role"], name="roleassignment_unique"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="roleassignment_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.org_unit}"


class Notification(models.Model):
    """An in-app message to one user (a returned figure, …); also sent by e-mail."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="notifications")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    text = models.TextField(_("text"))
    link = models.CharField(_("link"), max_length=300, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return self.text[:80]


class AuditKind(models.TextChoices):
    LOGIN = "login", _("login")
    LOGIN_FAILED = "login_failed", _("failed login")
    LOCKOUT = "lockout", _("lockout")
    ROLE_GRANTED = "role_granted", _("role granted")
    ROLE_CHANGED = "role_changed", _("role changed")
    ROLE_REVOKED = "role_revoked", _("role revoked")
    ACCOUNT_CHANGED = "account_changed", _("account changed")
    ROLE_MOVED = "role_moved", _("role moved to a successor unit")


class AuditEvent(models.Model):
    """A login, a refused login, a lockout, or a change of someone's roles or account flags.

    Users and units are kept as text, not foreign keys: the history outlives what it names, and
    an event written while a user is being deleted must not hold up that deletion.
    """

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    kind = models.CharField(_("kind"), max_length=32, choices=AuditKind.choices)
    actor = models.CharField(_("by"), max_length=150, blank=True, help_text=_("Empty: nobody logged in."))
    username = models.CharField(_("user"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    # The tenant of the unit a role is held on; empty for logins and account changes.
    tenant = models.ForeignKey(
        Tenant, verbose_name=_("tenant"), on_delete=models.PROTECT, null=True, blank=True, related_name="audit_events"
    )
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["username", "at"], name="auditevent_user_at")]
        constraints = [models.CheckConstraint(condition=Q(kind__in=AuditKind.values), name="auditevent_kind_valid")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} · {self.get_kind_display()} · {self.username}"
