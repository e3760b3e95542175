"""Label Studio's own CONLL2003 exporter, run on a JSON export: the reference the JSON routes must agree with.

Label Studio 1.23.2 builds its CONLL2003 export with ``label_studio_sdk.converter.Converter.convert_to_conll2003``
over the project's JSON export of annotated tasks; this runs exactly that (in a subprocess, because importing the
SDK's converter patches NLTK's Treebank tokenizer for the whole process).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys, tempfile
from pathlib import Path
from label_studio_sdk.converter import Converter
config, source, target = sys.argv[1:4]
out = tempfile.mkdtemp()
Converter(config=Path(config).read_text(encoding="utf-8"), project_dir=None,
          download_resources=False).convert_to_conll2003(source, out, is_dir=False)
Path(target).write_text(Path(out, "result.conll").read_text(encoding="utf-8"), encoding="utf-8")
"""


def studio_conll(tasks: list[dict], config_xml: str, work: Path) -> Path:
    """Write ``tasks`` as a JSON export and convert it as Label Studio does (annotated tasks only, as an export
    without ``download_all_tasks``); returns the CONLL2003 file."""
    work.mkdir(parents=True, exist_ok=True)
    annotated = [t for t in tasks if any(not a.get("was_cancelled") for a in t.get("annotations", []))]
    (work / "config.xml").write_text(config_xml, encoding="utf-8")
    (work / "export.json").write_text(json.dumps(annotated, ensure_ascii=False), encoding="utf-8")
    subprocess.run([sys.executable, "-c", SCRIPT, str(work / "config.xml"), str(work / "export.json"),
                    str(work / "export.conll")], check=True, capture_output=True, text=True)
    return work / "export.conll"
