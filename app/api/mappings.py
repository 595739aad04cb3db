"""/api/v1/mappings: product SKU / product id / exact name → roadmap feature keys."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from sqlmodel import Session

from app.api.deps import (
    CREATED,
    Offset,
    Page,
    ReadPrincipal,
    RevOpsPrincipal,
    RowId,
    SessionDep,
    created_at,
    if_match_header,
    precondition,
)
from app.api.fanout_counts import FanOutCounts, fanout_counts
from app.api.ingest import PayloadTooLarge
from app.api.nul import workbook_message
from app.errors import JSON_TOO_DEEP, ErrorResponse, Invalid, json_too_deep, too_many_digits
from app.services import mappings_service as svc

router = APIRouter(prefix="/api/v1/mappings", tags=["roadmap"])

MAX_IMPORT_BYTES = 5 * 1024 * 1024


class MappingPage(Page[svc.MappingPublic]):
    pass


IfMatch = if_match_header("mapping")
PRECONDITION = precondition("mapping")


_OVERLAP = (
    "the mapping's SKU or product id is already one of a feature's own: a deal selling it "
    "references both (not a refusal)"
)


class MappingChange(FanOutCounts):
    mapping: svc.MappingPublic
    warnings: list[svc.MappingWarning] = Field(default_factory=list, description=_OVERLAP)


class MappingDeleted(FanOutCounts):
    id: int


class ImportResult(FanOutCounts):
    created: int
    updated: int
    unchanged: int
    deleted: int
    warnings: list[svc.ImportWarning] = Field(
        default_factory=list,
        description="rows whose SKU or product id is already one of a feature's own: a deal "
        "selling it references both (not a refusal); CSV header columns that are not read",
    )


@router.get("", summary="List product mappings", operation_id="list_mappings")
def list_mappings(
    session: SessionDep,
    _p: ReadPrincipal,
    match_kind: Annotated[Literal["sku", "product_id", "name"] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    feature_key: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> MappingPage:
    total, rows = svc.list_mappings(
        session, match_kind=match_kind, q=q, feature_key=feature_key, limit=limit, offset=offset
    )
    return MappingPage(total=total, limit=limit, offset=offset, items=svc.publics(session, rows))


@router.get(
    "/{mapping_id}",
    summary="One mapping (its ETag, for If-Match on a write)",
    operation_id="get_mapping",
)
def get_mapping(
    mapping_id: RowId, session: SessionDep, _p: ReadPrincipal, response: Response
) -> svc.MappingPublic:
    row = svc.get_row(session, mapping_id)
    response.headers["ETag"] = svc.etag(row)
    [public] = svc.publics(session, [row])
    return public


@router.post(
    "",
    status_code=201,
    summary="Add a mapping",
    operation_id="create_mapping",
    responses=CREATED,
)
def create_mapping(
    body: svc.MappingIn, session: SessionDep, principal: RevOpsPrincipal, response: Response
) -> MappingChange:
    row, fanout = svc.create_mapping(session, body, actor=principal.actor)
    created_at(response, f"{router.prefix}/{row.id}", svc.etag(row))
    return MappingChange(
        mapping=svc.to_public(row),
        warnings=svc.overlap_warnings(session, row, path="match_value"),
        **fanout_counts(fanout),
    )


@router.put(
    "/{mapping_id}",
    summary="Replace a mapping's feature keys",
    operation_id="update_mapping",
    responses=PRECONDITION,
)
def update_mapping(
    mapping_id: RowId,
    body: svc.MappingUpdate,
    session: SessionDep,
    principal: RevOpsPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> MappingChange:
    row, fanout = svc.update_mapping(
        session, mapping_id, body, actor=principal.actor, if_match=if_match
    )
    response.headers["ETag"] = svc.etag(row)
    return MappingChange(
        mapping=svc.to_public(row),
        warnings=svc.overlap_warnings(session, row, path="feature_keys"),
        **fanout_counts(fanout),
    )


@router.delete(
    "/{mapping_id}",
    summary="Remove a mapping",
    operation_id="delete_mapping",
    responses=PRECONDITION,
)
def delete_mapping(
    mapping_id: RowId,
    session: SessionDep,
    principal: RevOpsPrincipal,
    if_match: IfMatch = None,
) -> MappingDeleted:
    fanout = svc.delete_mapping(session, mapping_id, actor=principal.actor, if_match=if_match)
    return MappingDeleted(id=mapping_id, **fanout_counts(fanout))


@router.post(
    "/import",
    summary="Bulk import (all or nothing): CSV upload (multipart field 'file'), text/csv body, "
    "or JSON list",
    description=(
        "CSV: header `match_kind,match_value,feature_keys`, or short `sku,feature_keys` "
        "(or `product_id` or `name`) (any case, each column once; `,`, "
        "`;` or tab separated, or what an Excel `sep=` first line names); lines end with \\n, "
        "\\r\\n or \\r; several keys separated by `;` or `|`. A product is one mapping "
        "whatever the case and spacing of its value. "
        "Errors name the CSV line a row starts on or the JSON item (1-based), and "
        '`feature_keys[i]` the key as sent. JSON: a list, or `{"mappings": [...]}` with no '
        "other key. `replace=true` (a query parameter) also deletes mappings absent from the "
        "import."
    ),
    operation_id="import_mappings",
    responses={
        413: {
            "model": ErrorResponse,
            "description": "an import larger than 5 MB (any /api/ body over 8 MB): split it",
        }
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {"type": "array", "items": {"$ref": "#/components/schemas/MappingIn"}}
                },
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
            "required": True,
        }
    },
)
async def import_mappings(
    request: Request,
    session: SessionDep,
    principal: RevOpsPrincipal,
    replace: Annotated[bool, Query()] = False,
) -> ImportResult:
    declared = request.headers.get("content-type", "")
    content_type = declared.split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        # Closed on the way out: the upload's spooled temporary file (on disk past 1 MB) was
        # left for the garbage collector to close.
        async with request.form() as form:
            upload = form.get("file")
            if isinstance(upload, str):
                # curl -F 'file=<mappings.csv' (or a form's text input): the field is there,
                # as text; "needs a file field named 'file'" sent the user looking for a typo.
                raise Invalid(
                    "multipart field 'file' was sent as a text value, not as an uploaded file: "
                    "attach the file itself (curl: -F 'file=@mappings.csv', with '@'), or send "
                    "the CSV as the body with Content-Type text/csv; nothing was written"
                )
            if upload is None:
                raise Invalid("multipart import needs a file field named 'file'")
            raw = await upload.read(MAX_IMPORT_BYTES + 1)
            declared = upload.content_type or ""
            filename = (upload.filename or "").lower()
            kind = "json" if filename.endswith(".json") else "csv"
    else:
        raw = await request.body()
        kind = "json" if content_type == "application/json" else "csv"
        if content_type not in ("application/json", "text/csv", "text/plain"):
            raise Invalid(
                f"unsupported content type '{content_type}': send text/csv, application/json "
                "or multipart/form-data"
            )
    if len(raw) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(
            f"import larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB "
            f"({MAX_IMPORT_BYTES:,} bytes): split it into several imports (without replace=true, "
            "which would delete what the other parts map)"
        )
    # Decoding, parsing and the database work run in the thread pool, never on the event loop:
    # blocked there waiting for SQLite's write slot, this handler stopped every other request
    # from finishing, including the one holding the slot (found by schemathesis: a 30 s
    # deadlock); and decoding 5 MB (twice for a file that is not UTF-8) held every webhook ack.
    return await run_in_threadpool(_import, session, raw, declared, kind, principal.actor, replace)


# The charsets a CSV may declare other than UTF-8: Excel's "CSV (Comma delimited)" on Windows
# saves Windows-1252 ("ANSI"); ISO-8859-1 is read as Windows-1252, as browsers read it.
WINDOWS_1252 = frozenset(("windows-1252", "cp1252", "iso-8859-1", "latin1", "latin-1"))


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def decode_import(raw: bytes, content_type: str) -> str:
    """The import's text: UTF-8 (a byte order mark, as spreadsheets save, is not content), or
    Windows-1252 when the request or the uploaded file declares `charset=windows-1252`. A
    workbook, or text in another encoding, is refused saying what it is and how to save it."""
    said = workbook_message(raw, "import")
    if said is not None:
        raise Invalid(said)
    if _charset(content_type) in WINDOWS_1252:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise Invalid(_not_text(raw, exc, "Windows-1252")) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(_not_text(raw, exc, "UTF-8")) from None


def _not_text(raw: bytes, exc: UnicodeDecodeError, encoding: str) -> str:
    """Where the import stops being `encoding` (line and byte), and what it looks like."""
    line = raw[: exc.start].count(b"\n") + 1
    if b"\n" not in raw:
        line = raw[: exc.start].count(b"\r") + 1  # old Mac Excel: lines end with a lone CR
    byte = raw[exc.start]
    where = f"line {line} has byte 0x{byte:02X}, which is not {encoding}"
    if encoding == "UTF-8":
        try:
            shown = raw[exc.start : exc.start + 1].decode("cp1252")
            raw.decode("cp1252")
        except UnicodeDecodeError:
            pass
        else:
            return (
                f"import must be UTF-8 text: {where} (in Windows-1252 it is '{shown}'): the file "
                "looks like a Windows/Excel-encoded file (Excel's 'CSV (Comma delimited)'); in "
                "Excel, save as 'CSV UTF-8 (Comma delimited) (*.csv)' and send that, or send this "
                "file with Content-Type 'text/csv; charset=windows-1252'; nothing was written"
            )
    return (
        f"import must be {encoding} text: {where}; save the file as 'CSV UTF-8 (Comma "
        "delimited) (*.csv)' and send that; nothing was written"
    )


def _import(
    session: Session, raw: bytes, declared: str, kind: str, actor: str, replace: bool
) -> ImportResult:
    text = decode_import(raw, declared)
    if kind == "csv" and text.lstrip("\ufeff \t\r\n")[:1] in ("[", "{"):
        raise Invalid(
            "the body looks like JSON, not CSV: send it with Content-Type application/json "
            "(an uploaded file: name it .json); nothing was written"
        )
    if kind == "json":
        # As every JSON body (`RefuseNulMiddleware`): an uploaded file is not checked there.
        if json_too_deep(text):
            raise Invalid(f"file: {JSON_TOO_DEEP} (a list of mappings is flat)")
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Invalid(
                f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        except ValueError as exc:  # a number too long for int(): a 500 before
            said = too_many_digits(exc)
            if said is None:
                raise
            raise Invalid(f"file: {said}; nothing was written") from None
        rows, column_warnings = svc.parse_json(payload), []
    else:
        rows, column_warnings = svc.read_csv(text)
    counts, fanout = svc.import_mappings(session, rows, actor=actor, replace=replace)
    warnings = column_warnings + svc.import_warnings(session, rows)
    return ImportResult(**counts, warnings=warnings, **fanout_counts(fanout))
