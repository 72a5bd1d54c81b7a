"""Audit the locked dependencies for known vulnerabilities: pip-audit over requirements.lock and
requirements-demo.lock (PyPI's and OSV's vulnerability services), npm audit over web/package-lock.json.

    .venv/bin/python bench/dependency_audit.py [--json OUT]

Needs the network (the vulnerability services), so it is not part of the test run. pip-audit runs
from $PIP_AUDIT if set (a command line), else through `uv tool run` (fetched from PyPI once).
Prints a table and every finding. Exit status: 0 when every audit ran, findings or not; 1 when an
audit could not run or could audit nothing (tool failure, service unreachable): the table says which.
A package a service has no data for is counted as skipped, never as clean.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _common import json_arg_parser, print_table, write_json

REPO = Path(__file__).resolve().parents[1]
PIP_AUDIT_VERSION = "2.10.1"
PYTHON_LOCKS = ("requirements.lock", "requirements-demo.lock")
PIP_AUDIT_SERVICES = ("pypi", "osv")
NPM_LOCK_DIR = REPO / "web"
TIMEOUT_S = 600


@dataclass
class Finding:
    package: str
    version: str
    advisory: str
    fixed_in: list[str]
    aliases: list[str] = field(default_factory=list)


@dataclass
class Audit:
    source: str
    service: str
    ran: bool
    """The tool ran and the service answered for at least one package."""
    packages: int = 0
    audited: int = 0
    findings: list[Finding] = field(default_factory=list)
    problem: str = ""


def pip_audit_command() -> list[str]:
    configured = os.environ.get("PIP_AUDIT")
    if configured:
        return shlex.split(configured)
    uv = Path(sys.executable).with_name("uv")
    return [str(uv), "tool", "run", "--from", f"pip-audit=={PIP_AUDIT_VERSION}", "pip-audit"]


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def pip_audit(lock: str, service: str) -> Audit:
    """pip-audit over the pins of `lock` (the project's own editable packages left out: not on PyPI)."""
    audit = Audit(lock, f"pip-audit/{service}", ran=False)
    pins = [line for line in (REPO / lock).read_text().splitlines() if not line.startswith("-e ")]
    with tempfile.TemporaryDirectory() as tmp:
        requirements, report = Path(tmp) / "pins.txt", Path(tmp) / "report.json"
        requirements.write_text("\n".join(pins) + "\n")
        command = [*pip_audit_command(), "-r", str(requirements), "--no-deps", "--disable-pip"]
        command += ["--vulnerability-service", service, "--format", "json", "-o", str(report)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
        if not report.exists():
            audit.problem = f"pip-audit failed (exit {done.returncode}): {last_line(done.stderr)}"
            return audit
        dependencies: list[dict[str, Any]] = json.loads(report.read_text())["dependencies"]
    audit.packages = len(dependencies)
    audited = [d for d in dependencies if "skip_reason" not in d]
    audit.audited = len(audited)
    audit.ran = bool(audited)
    if not audited:
        skipped = next((d["skip_reason"] for d in dependencies), "no packages")
        audit.problem = f"every package skipped, e.g. {skipped}"
    for dep in audited:
        audit.findings += [
            Finding(dep["name"], dep["version"], v["id"], v.get("fix_versions", []), v.get("aliases", []))
            for v in dep.get("vulns", [])
        ]
    return audit


def npm_audit() -> Audit:
    audit = Audit("web/package-lock.json", "npm audit", ran=False)
    done = subprocess.run(
        ["npm", "audit", "--package-lock-only", "--json"],
        cwd=NPM_LOCK_DIR,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        audit.problem = f"npm audit failed (exit {done.returncode}): {last_line(done.stderr)}"
        return audit
    if "error" in report or "vulnerabilities" not in report:
        audit.problem = f"npm audit failed: {report.get('message') or last_line(done.stderr)}"
        return audit
    audit.ran = True
    audit.packages = audit.audited = int(report.get("metadata", {}).get("dependencies", {}).get("total", 0))
    for name, entry in report["vulnerabilities"].items():
        for via in entry.get("via", []):
            if isinstance(via, dict):
                fixed = entry.get("fixAvailable")
                fixed_in = [f"{fixed['name']}@{fixed['version']}"] if isinstance(fixed, dict) else []
                audit.findings.append(Finding(name, entry.get("range", ""), str(via.get("url", via)), fixed_in))
    return audit


def main() -> int:
    args = json_arg_parser(__doc__.splitlines()[0]).parse_args()
    audits = [pip_audit(lock, service) for lock in PYTHON_LOCKS for service in PIP_AUDIT_SERVICES]
    audits.append(npm_audit())
    rows = [
        (a.source, a.service, "ran" if a.ran else "NOT RUN", str(a.packages), str(a.audited), str(len(a.findings)))
        for a in audits
    ]
    print_table(rows, ("lock", "service", "status", "packages", "audited", "findings"))
    for a in audits:
        if a.problem:
            print(f"{a.source} / {a.service}: {a.problem}")
        for f in a.findings:
            print(f"{a.source}: {f.package} {f.version} {f.advisory} (fixed in {', '.join(f.fixed_in) or '?'})")
    write_json(args.json, {"audits": [asdict(a) for a in audits]})
    return 0 if all(a.ran for a in audits) else 1


if __name__ == "__main__":
    sys.exit(main())
