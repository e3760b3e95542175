"""A round's data: an annotated export file streamed into the project's frozen split files, and the test split the
round is evaluated on.

One pass over the export (``converters.export.iter_export``) feeds the split writer (``converters.split_writer``),
the same streaming conversion as ``nerloop convert export``: a round never holds the export, and writes its split
files once, as the sentences stream past. Training reads them back (``training.split_files.load_splits``). What
stays in memory is the test split, read back from the file just written with each sentence's task (the report
links to it), or the project's fixed test file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from converters.conversion_report import ConversionReport
from converters.corpus import Sentence, read_tsv
from converters.export import iter_export
from converters.split_writer import SplitWriter
from core.errors import TrainingError, UnknownTagError
from labeling_config import LabelConfig
from store.settings import SharedSettings


@dataclass(frozen=True)
class RoundData:
    """What a round or a curve trains on: the config, the export it came from, the conversion report (with the
    split problems and counts), the split files written and the test split."""

    config: LabelConfig
    export_file: Path
    report: ConversionReport
    split_dir: Path  # train.tsv, validation.tsv, test.tsv (the splits with sentences) and conversion.json
    test: tuple[Sentence, ...]


def split_round_export(settings: SharedSettings, *, salt: str, export_file: Path, config: LabelConfig,
                       split_dir: Path) -> RoundData:
    """Stream ``export_file`` into ``split_dir`` by the project's frozen hash rule (its ``salt``, the settings'
    ratios and annotation policy), against the fixed test split when the settings name one."""
    fixed_test = read_fixed_test(settings, config)
    stream = iter_export(export_file, config, policy=settings.annotation_policy)
    with SplitWriter(split_dir, salt=salt, ratios=settings.split_ratios, test_sentences=fixed_test,
                     keep_test=True) as writer:
        for sentence in stream:
            writer.add(sentence)
        report = stream.report
        if not report.sentences:
            raise TrainingError(f"no annotated sentences in the export ({report.tasks_read} tasks read)",
                                where=str(export_file), hint="annotate some tasks in Label Studio, then run again")
        _, report = writer.finish(report)
        test = tuple(writer.test_split())
    return RoundData(config, Path(export_file), report, Path(split_dir), test)


def read_fixed_test(settings: SharedSettings, config: LabelConfig) -> list[Sentence] | None:
    """The project's fixed test split, if it has one."""
    if settings.test_file is None:
        return None
    if not settings.test_file.exists():
        raise TrainingError("the fixed test file does not exist", where=str(settings.test_file),
                            hint="set test_file in the project's project.json (`nerloop project set`) to a "
                                 "TAG<TAB>token file, or to '' to use the frozen test split of the annotations")
    try:
        return read_tsv(settings.test_file, tags=config.tags)
    except UnknownTagError as err:
        raise TrainingError(f"the fixed test file does not fit this project's labels ({err.message})",
                            where=err.where, hint="set the project's test_file (`nerloop project set --test-file`) "
                                                  "to a test file with its labels, or to '' to use the frozen test "
                                                  "split of its annotations") from err
