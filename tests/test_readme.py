"""The README as a newcomer's first screen, and the docs it links to.

The README's first screen says what Latent Lab is, shows it, and gives the commands to install it (the CPU build of
torch first), run it and test it; the long tables and reference sections live under docs/, and every relative link
in the README and docs/ resolves to a file (and a heading) that exists. The shipped GAN edit scorecards' sample
counts in docs/ are those of the measurements (evaluation.json), as the model cards say."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
FIRST_SCREEN = 60  # lines, front matter included
MOST_LINES = 150


def readme_lines() -> list[str]:
    return README.read_text().splitlines()


def without_code(text: str) -> str:
    """Markdown text without fenced code blocks and inline code spans (whose brackets are not links)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def slugs(path: Path) -> set[str]:
    """The anchors GitHub (and the Hub) give the headings of a markdown file: lowercased, punctuation dropped,
    spaces as hyphens, a repeated heading numbered."""
    seen: dict[str, int] = {}
    for line in without_code(path.read_text()).splitlines():
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            slug = re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-")
            seen[slug] = seen.get(slug, -1) + 1
    return {slug if n == 0 else f"{slug}-{i}" for slug, n in seen.items() for i in range(n + 1)}


def relative_links(path: Path) -> list[str]:
    text = without_code(path.read_text())
    targets = re.findall(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)
    targets += re.findall(r"<img\s[^>]*src=\"([^\"]+)\"", text)
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t, re.I)]  # http:, https:, mailto: ...


def test_the_front_matter_stays_at_the_very_top():
    lines = readme_lines()
    assert lines[0] == "---" and "---" in lines[1:20], "the Space's YAML front matter must open the README"


def test_the_first_pip_command_installs_the_cpu_build_of_torch():
    """On Linux PyPI's torch is the CUDA build (about 2.9 GB of wheels): the README's first install command is
    pre-requirements.txt (PyTorch's CPU index), then requirements.txt."""
    installs = [line.split("#")[0].strip() for line in readme_lines() if re.match(r"\s*pip install\b", line)]
    assert installs[:2] == ["pip install -r pre-requirements.txt", "pip install -r requirements.txt"], installs[:2]


def test_install_run_test_and_a_picture_are_on_the_first_screen():
    first = readme_lines()[:FIRST_SCREEN]
    commands = [line.split("#")[0].strip() for line in first]
    ci = (ROOT / ".ci" / "run").read_text()
    full = re.search(r"^# The README's test command.*\n(python -m pytest.*)$", ci, re.M)
    assert full, ".ci/run no longer says which command is the README's"
    for command in ("pip install -r pre-requirements.txt", "python app.py", full.group(1).strip(), "python -m pytest"):
        assert command in commands, f"`{command}` is not within the README's first {FIRST_SCREEN} lines"
    assert any("http://127.0.0.1:7860" in line for line in first), "the first screen says where the app is served"
    pictures = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", "\n".join(first))
    assert pictures and all((ROOT / p).is_file() for p in pictures), "the first screen shows a picture from the repo"


def test_the_readme_is_short_and_links_the_long_sections_under_docs():
    assert len(readme_lines()) <= MOST_LINES, f"the README is over {MOST_LINES} lines: move the long sections into docs/"
    linked = {Path(t.split("#")[0]).name for t in relative_links(README) if t.startswith("docs/") and ".md" in t}
    assert linked == {p.name for p in DOCS}, f"docs pages not linked from the README: {sorted({p.name for p in DOCS} - linked)}"
    assert not re.search(r"^\|(?:.*\|){3,}$", README.read_text(), re.M), "tables belong in docs/"


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    broken = []
    for target in relative_links(page):
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in slugs(path):
            broken.append(f"{target}: no heading #{anchor} in {path.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


@pytest.mark.parametrize("name", ["faces-dcgan", "faces-wgan-gp"])
def test_the_gan_edit_sample_counts_agree_with_the_measurements(name):
    """A GAN's stored-vector scorecards edit 1,000 of its samples and its classifier-guided ones 300 (8 gradient
    steps each): the model card and docs/checkpoints.md say the counts evaluation.json holds."""
    evaluation = json.loads((ROOT / "checkpoints" / name / "evaluation.json").read_text())
    counts = {kind: {card["n"] for card in evaluation[key].values()} for kind, key in (("vector", "edits"), ("guided", "guided_edits"))}
    assert all(len(n) == 1 for n in counts.values()), counts
    vector, guided = (next(iter(counts[k])) for k in ("vector", "guided"))

    card = (ROOT / "checkpoints" / name / "README.md").read_text()
    stated = re.findall(r"of (\d+) samples without it, (stored vector|classifier-guided)", card)
    assert stated and {(int(n), "guided" if "guided" in k else "vector") for n, k in stated} <= {(vector, "vector"), (guided, "guided")}

    docs = " ".join((ROOT / "docs" / "checkpoints.md").read_text().split())
    said_guided = {int(n.replace(",", "")) for n in re.findall(r"classifier-guided(?: edit)? on ([\d,]+)", docs)}
    said_vector = {int(n.replace(",", "")) for n in re.findall(r"stored (?:InterFaceGAN )?vector on ([\d,]+)", docs)}
    assert said_guided == {guided}, f"docs/checkpoints.md gives guided edits on {said_guided}; measured on {guided}"
    assert said_vector == {vector}, f"docs/checkpoints.md gives vector edits on {said_vector}; measured on {vector}"
    row = next(line for line in (ROOT / "docs" / "checkpoints.md").read_text().splitlines() if line.startswith(f"| `{name}` |"))
    assert f"classifier-guided on {guided}" in row, f"the {name} row does not say how many samples the guided edit used"
