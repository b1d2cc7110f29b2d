"""Parse the node probe's output (pullcheck/node/probe.sh) and classify what it found.

Each check is one line, `PULLCHECK<TAB>check<TAB>subject<TAB>status<TAB>base64(detail)`, so records
survive log transport intact; any other line (a shell error, kubelet noise) is kept as `noise`.
A detail may start with `key value` header lines and a blank line before free text (pull and
HTTP checks); `Record.fields` and `Record.body` split it.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from pullcheck.matrix import Classification, classify

MARKER = "PULLCHECK"
STATUSES = ("ok", "fail", "warn", "info", "skip")

# logrus lines ctr/crictl print while they work (`level=info msg="trying next host"`): context, not the error
_PROGRESS_LINE = re.compile(r"\blevel=(?:info|debug|trace|warning)\b")

# curl exit codes -> the stage a reachability check stopped at (curl's libcurl-errors list)
CURL_STAGES = {6: "dns", 5: "proxy-dns", 7: "connect", 28: "timeout", 35: "tls", 51: "tls", 53: "tls", 58: "tls",
               59: "tls", 60: "tls-verify", 77: "tls-verify", 56: "proxy", 97: "proxy"}


@dataclass(frozen=True)
class Record:
    check: str
    subject: str
    status: str
    detail: str

    @property
    def fields(self) -> Dict[str, str]:
        """The `key value` header lines of the detail (up to the first blank line)."""
        head = self.detail.split("\n\n", 1)[0] if self._headed() else ""
        out: Dict[str, str] = {}
        for line in head.splitlines():
            key, _, value = line.partition(" ")
            out[key] = value
        return out

    @property
    def body(self) -> str:
        """The free text after the header lines (the whole detail when it has none)."""
        if self._headed():
            return self.detail.split("\n\n", 1)[1] if "\n\n" in self.detail else ""
        return self.detail

    def _headed(self) -> bool:
        return self.check in ("pull", "https", "http")


@dataclass(frozen=True)
class ProbeOutput:
    records: Tuple[Record, ...]
    complete: bool                         # the probe's closing record was seen
    noise: Tuple[str, ...] = field(default=())

    def find(self, check: str, subject: Optional[str] = None) -> List[Record]:
        return [r for r in self.records if r.check == check and (subject is None or r.subject == subject)]

    def one(self, check: str, subject: Optional[str] = None) -> Optional[Record]:
        found = self.find(check, subject)
        return found[0] if found else None

    def scrubbed(self, values: Sequence[str]) -> "ProbeOutput":
        """The output with every occurrence of `values` (secret values, longest first) in records and
        noise replaced by ***: a second line of defence behind the probe's own scrubbing."""
        def clean(text: str) -> str:
            for value in values:
                if value:
                    text = text.replace(value, "***")
            return text

        records = tuple(Record(r.check, clean(r.subject), r.status, clean(r.detail)) for r in self.records)
        return ProbeOutput(records, self.complete, tuple(clean(line) for line in self.noise))


def _decode(text: str) -> Optional[str]:
    try:
        return base64.b64decode(text.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None


def parse_records(text: str) -> ProbeOutput:
    """Every well-formed record of a probe log, in order; malformed lines go to `noise`."""
    records: List[Record] = []
    noise: List[str] = []
    complete = False
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        parts = line.split("\t")
        detail = _decode(parts[4]) if len(parts) == 5 and parts[0] == MARKER else None
        if detail is None or parts[3] not in STATUSES:
            noise.append(line)
            continue
        record = Record(check=parts[1], subject=parts[2], status=parts[3], detail=detail)
        if record.check == "probe" and record.subject == "end":
            complete = True
        records.append(record)
    return ProbeOutput(tuple(records), complete, tuple(noise))


def pull_error(record: Record) -> str:
    """The line of a failed pull's output that states the error: the last one that is not progress
    logging (`ctr: failed to resolve ...`, crictl's `level=fatal msg="pulling image: ..."`)."""
    lines = [line.strip() for line in record.body.splitlines() if line.strip()]
    errors = [line for line in lines if not _PROGRESS_LINE.search(line)]
    if errors:
        return errors[-1]
    return lines[-1] if lines else ""


def classify_pull(record: Record) -> Optional[Classification]:
    """The matrix's reading of a failed pull; None for a pull that worked or did not run."""
    if record.check != "pull" or record.status != "fail":
        return None
    error = pull_error(record)
    if not error and record.fields.get("exit") == "124":
        error = "context deadline exceeded"        # killed by timeout(1) before the tool printed anything
    found = classify(error)
    if found.cause == "auth-missing" and record.fields.get("auth", "none") != "none":
        # a 401 reads the same with no credentials and with wrong ones; this pull sent some
        from dataclasses import replace

        from pullcheck.matrix import matrix_row

        return replace(found, cause="auth-rejected", row=matrix_row("auth-rejected"), candidates=())
    return found


def http_stage(record: Record) -> str:
    """Where an https/http reachability check stopped: `http` (answered), dns, connect, timeout, tls,
    tls-verify, proxy or `error`."""
    if record.status == "ok":
        return "http"
    fields = record.fields
    if fields.get("via") == "curl":
        try:
            return CURL_STAGES.get(int(fields.get("exit", "")), "error")
        except ValueError:
            return "error"
    text = record.body.lower()
    for marker, stage in (("unable to resolve", "dns"), ("name or service not known", "dns"),
                          ("bad address", "dns"), ("refused", "connect"), ("timed out", "timeout"),
                          ("certificate", "tls-verify"), ("ssl", "tls"), ("tls", "tls")):
        if marker in text:
            return stage
    return "error"
