"""The export's files: each table as Parquet and CSV, the FHIR resources as NDJSON, the data
dictionary and a README; zipped for the page, or written to a directory for the command."""

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ketacare.registry.dataset import Dataset
from ketacare.registry.export.consent import CONSENT_RULE, LeftOut
from ketacare.registry.export.dictionary import COLUMNS, TABLES, arrow_table, dictionary
from ketacare.registry.export.fhir import fhir_resources
from ketacare.registry.export.safe_harbor import IMPLAUSIBLE_RULE, MAX_SHIFT_DAYS

FORMATS = ("parquet", "csv", "ndjson")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _csv(table: pa.Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        writer.writerow([_csv_cell(v) for v in row.values()])
    return out.getvalue().encode()


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    # No pandas metadata: the file holds the columns and the dictionary's types, nothing else.
    pq.write_table(table.replace_schema_metadata(None), out)
    return out.getvalue()


def _ndjson(resources: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in resources).encode()


def _readme(
    formats: Iterable[str],
    rows: Mapping[str, int],
    left_out: LeftOut,
    implausible: LeftOut | None = None,
) -> bytes:
    lines = [
        "# ketacare research export",
        "",
        "De-identified under the HIPAA Safe Harbor method (45 CFR 164.514(b)(2)): no names,",
        "record numbers, addresses, telephone numbers, e-mail addresses or database ids.",
        "",
        "- `research_id`: a pseudonym per patient, the same in every table (and in later exports",
        "  made with the same key). The key is not part of the export.",
        "- Dates and timestamps: each patient's are moved by one secret number of days, between",
        f"  -{MAX_SHIFT_DAYS} and +{MAX_SHIFT_DAYS} (never 0); timestamps are cut to the minute.",
        "  Intervals within a patient are kept; calendar dates, weekdays and seasons are not",
        "  real, and dates of different patients cannot be compared.",
        "- Rows are ordered by research id.",
        "- Birth: the year only; none for ages 90 or older, whose age is `90+`.",
        "- ZIP: the first three digits; `000` for areas of 20,000 people or fewer.",
        f"- Consent. {CONSENT_RULE}",
        f"  Patients of this cohort left out for want of that consent: {left_out}.",
        f"- Dates. {IMPLAUSIBLE_RULE}",
        f"  Patients of the clinic left out so: {implausible or 0}.",
        "",
        f"Formats: {', '.join(formats)}. Rows: "
        + ", ".join(f"{table} {n}" for table, n in rows.items())
        + ".",
        "",
        "Tables: `<table>.parquet` / `<table>.csv`; FHIR R4 resources: `fhir/<Type>.ndjson`.",
        "Column types and meanings: `data_dictionary.json`, and below.",
    ]
    for table, columns in COLUMNS.items():
        lines += ["", f"## {table}", "", "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {c.type} | {c.meaning} |" for c in columns]
    return ("\n".join(lines) + "\n").encode()


def export_files(
    research: Dataset,
    formats: Iterable[str],
    left_out: LeftOut,
    implausible: LeftOut | None = None,
) -> dict[str, bytes]:
    """The export's files by name: tables, FHIR NDJSON, data dictionary and README (which
    says how many patients were ``left_out`` for want of consent, and how many for a date
    outside the bounds: ``implausible``)."""
    formats = [f for f in FORMATS if f in set(formats)]
    files: dict[str, bytes] = {}
    for table in TABLES:
        arrow = arrow_table(getattr(research, table), table)
        if "parquet" in formats:
            files[f"{table}.parquet"] = _parquet(arrow)
        if "csv" in formats:
            files[f"{table}.csv"] = _csv(arrow)
    if "ndjson" in formats:
        for kind, resources in fhir_resources(research).items():
            files[f"fhir/{kind}.ndjson"] = _ndjson(resources)
    files["data_dictionary.json"] = (json.dumps(dictionary(), indent=2) + "\n").encode()
    files["README.md"] = _readme(formats, row_counts(research), left_out, implausible)
    return files


def row_counts(dataset: Dataset) -> dict[str, int]:
    return {table: len(getattr(dataset, table)) for table in TABLES}


def zipped(files: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            # A fixed timestamp: the archive carries no date of its own.
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), content)
    return out.getvalue()


def write_directory(files: Mapping[str, bytes], directory: Path) -> None:
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
