"""The one-command local run works on SQLite: migrations, the seed, and the figures' workflow with
its versions and history, through the same services (run as a separate process with the local
settings, the way `make run` runs)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

SCRIPT = """
import json
from decimal import Decimal
from healthplans.workflow import Conflict
from healthplans.models import OrgUnit, User
from indicators.models import Indicator
from indicators.services import (actual_approve, actual_create, actual_return, actual_submit,
                                 actual_unlock, actual_update)
station, reviewer = User.objects.get(username="muongkhuong.station"), User.objects.get(username="laocai.reviewer")
indicator = Indicator.objects.filter(plan__slug="muongkhuong-de-an-07-2023", unit_kind="percent").first()
unit = OrgUnit.objects.get(code="muongkhuong-tt-tyt")
actual = actual_create(indicator=indicator, org_unit=unit, period="2023", value=Decimal("90"), by=station)
actual = actual_submit(actual=actual, version=actual.version, by=station)
actual = actual_return(actual=actual, by=reviewer, message="Kiểm tra lại")
stale = actual.version
actual = actual_update(actual=actual, version=actual.version, value=Decimal("91"), by=station)
try:
    actual_update(actual=actual, version=stale, value=Decimal("99"), by=station)
    conflict = None
except Conflict as error:
    conflict = error.code
actual = actual_submit(actual=actual, version=actual.version, by=station)
actual = actual_approve(actual=actual, by=reviewer)
actual = actual_unlock(actual=actual, by=reviewer, reason="Sai số")
print(json.dumps({
    "status": actual.status, "value": str(actual.value), "conflict": conflict,
    "history": [[e.action, e.by.username, str(e.old_value), str(e.new_value), e.message] for e in actual.events.all()],
}))
"""


def test_local_run_on_sqlite_keeps_versions_and_history(tmp_path: Path) -> None:
    # No DATABASE_URL and no broker: what `make run` has on a fresh machine.
    env = {name: value for name, value in os.environ.items() if name not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {"DJANGO_SETTINGS_MODULE": "healthplans.settings.local", "HEALTHPLANS_VAR_DIR": str(tmp_path)}
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True)
    subprocess.run([*manage, "load_seed", "--without-demo-figures"], env=env, check=True, capture_output=True)
    assert (tmp_path / "healthplans.sqlite3").exists()
    out = subprocess.run([*manage, "shell", "-c", SCRIPT], env=env, check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == "draft"
    assert result["value"] == "91.000000"
    assert result["conflict"] == "stale_version"
    assert [step[0] for step in result["history"]] == [
        "create",
        "submit",
        "return",
        "change",
        "submit",
        "approve",
        "unlock",
    ]
    assert result["history"][2][4] == "Kiểm tra lại"
    assert result["history"][-1][4] == "Sai số"
    assert result["history"][3][2:4] == ["90.000000", "91.000000"]
