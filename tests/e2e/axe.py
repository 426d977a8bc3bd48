"""Accessibility audits of a page with axe-core, the plain script from npm injected into the Playwright page.

axe-core is pinned to ``AXE_VERSION`` and installed on first use into ``<checkout>/.axe-core`` (git-ignored;
``$AP_AXE_HOME`` overrides it) the way Azurite is, so a fresh machine needs only npm. Audits run the rules of WCAG
2.0, 2.1 and 2.2, levels A and AA; a violation fails the test with the rule, the elements and what is wrong.

``python -m tests.e2e.axe`` installs it ahead of a test run.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path
import sys
from typing import Any

from playwright.sync_api import Page

from tests.services import npm
from tests.services.process import ROOT, ServiceError

AXE_VERSION = "4.14.1"
#: The axe-core tags of every WCAG 2.x success criterion at level A or AA.
WCAG_AA_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa")


# Wait for every finite animation and transition in the page to finish (or be cancelled).
SETTLE = """() => Promise.all(
    document.getAnimations()
        .filter((animation) => animation.effect?.getComputedTiming().iterations !== Infinity)
        .map((animation) => animation.finished.catch(() => null))
)"""


def axe_home() -> Path:
    return Path(os.environ.get("AP_AXE_HOME") or ROOT / ".axe-core")


def axe_script() -> Path:
    """``axe.min.js`` of the pinned axe-core, installed from npm when it is missing or another version."""
    home = axe_home()
    package = npm.ensure_package(home, "axe-core", AXE_VERSION, log=home / "npm-install.log")
    script = package / "axe.min.js"
    if not script.exists():
        raise ServiceError(f"npm did not install {script}")
    return script


@dataclass(frozen=True)
class Violation:
    """One failed axe rule: which rule, how bad, and each element that fails it with axe's reason."""

    rule: str
    impact: str
    summary: str
    nodes: tuple[tuple[str, str], ...]

    @classmethod
    def from_axe(cls, result: dict[str, Any]) -> Violation:
        nodes = tuple(
            (" ".join(map(str, node.get("target", []))), (node.get("failureSummary") or "").replace("\n", " "))
            for node in result.get("nodes", [])
        )
        return cls(result["id"], result.get("impact") or "", result.get("help", ""), nodes)

    def __str__(self) -> str:
        lines = [f"{self.rule} ({self.impact}): {self.summary}"]
        lines += [f"    {target}: {reason}" for target, reason in self.nodes]
        return "\n".join(lines)


class Axe:
    """Runs axe-core in pages. ``check(page, "state")`` is what a test calls, after putting the page in a state."""

    def __init__(self, script: Path, tags: tuple[str, ...] = WCAG_AA_TAGS):
        self.script = script
        self.tags = tags

    def violations(self, page: Page, include: str | None = None) -> list[Violation]:
        """axe's WCAG A/AA violations on ``page``, or only within the elements matching ``include``."""
        # A navigation drops the script with the rest of the page, so it is injected again whenever it is missing.
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(self.script))
        # Colours are judged once transitions have ended: mid-way, a state's final colours are not on screen yet.
        page.evaluate(SETTLE)
        results = page.evaluate(
            """([include, tags]) => axe.run(include ? { include: [include] } : document, {
                runOnly: { type: "tag", values: tags },
                resultTypes: ["violations"],
            })""",
            [include, list(self.tags)],
        )
        return [Violation.from_axe(result) for result in results["violations"]]

    def check(self, page: Page, state: str, include: str | None = None) -> None:
        """Fail with a readable list when ``page`` (in the state named ``state``) has any violation."""
        found = self.violations(page, include)
        if found:
            listing = "\n".join(str(violation) for violation in found)
            raise AssertionError(
                f"axe-core {AXE_VERSION}: {len(found)} WCAG A/AA violation(s) in state {state!r}:\n{listing}"
            )


if __name__ == "__main__":
    try:
        print(axe_script())
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
