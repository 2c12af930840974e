"""The code snippets of the two product documents (copies in ``documents/``), as the pages show
them: the documents are the pages' text, in which a snippet is a run of paragraphs that read as
code (an import, a declaration, an awaited call or a comment, and their continuation lines)."""

import re
from dataclasses import dataclass
from pathlib import Path

DOCUMENTS = Path(__file__).resolve().parent / "documents"
CURRENT = DOCUMENTS / "001_caa1fa09bc176d46.txt"
PREVIOUS = DOCUMENTS / "000_d0484fb23bc854ab.txt"

CODE_START = re.compile(r"^(import |export |const |let |await |//)")


@dataclass(frozen=True)
class Snippet:
    document: str  # the file's name
    section: str  # the heading above it
    code: str

    def declared(self) -> list[str]:
        """Names the snippet declares (``const x`` and ``const { docs: x }``), in order."""
        names = []
        for match in re.finditer(r"\bconst\s+(\{[^}]*\}|\w+)\s*=", self.code):
            target = match.group(1)
            if target.startswith("{"):
                for part in target.strip("{} ").split(","):
                    names.append(part.split(":")[-1].strip())
            else:
                names.append(target)
        return names

    def uses(self, name: str) -> bool:
        return re.search(rf"(?<![\w.'\"]){re.escape(name)}\b", self.code) is not None


def snippets(path: Path) -> list[Snippet]:
    """Every snippet of one document, in the order of the page."""
    paragraphs = re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))
    found: list[Snippet] = []
    section = ""
    code: list[str] = []
    previous_prose = ""

    def close():
        if code:
            found.append(Snippet(path.name, section, "\n\n".join(code)))
            code.clear()

    for paragraph in paragraphs:
        paragraph = paragraph.strip("\n")
        if CODE_START.match(paragraph.lstrip()):
            if not code:
                section = previous_prose
            code.append(paragraph)
            continue
        close()
        line = paragraph.strip()
        if line and "\n" not in line and not line.endswith("."):
            previous_prose = line  # a heading
    close()
    return found
