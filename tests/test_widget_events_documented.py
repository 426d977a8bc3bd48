"""Every event the widget's script dispatches is documented in docs/usage.md ("Events"), and every documented
event is one it dispatches: projects rely on those names."""

from __future__ import annotations

from pathlib import Path
import re

ROOT = Path(__file__).resolve().parent.parent
WIDGET_JS = ROOT / "src/alliance_platform/storage/static/alliance_platform/storage/widget.js"
USAGE = ROOT / "docs/usage.md"


def test_dispatched_events_are_the_documented_ones():
    dispatched = {f"ap-upload:{name}" for name in re.findall(r'this\.emit\("([a-z-]+)"', WIDGET_JS.read_text())}
    events_section = USAGE.read_text().split("### Events", 1)[1].split("\n### ", 1)[0]
    documented = set(re.findall(r"^\| `(ap-upload:[a-z-]+)` \|", events_section, re.MULTILINE))
    assert dispatched == {"ap-upload:uploaded", "ap-upload:failed", "ap-upload:removed"}
    assert documented == dispatched
