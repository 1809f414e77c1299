//! The contact book's own routes: the admin-defined contact fields, and contacts in bulk
//! (CSV import with a report of every row, CSV export of any filter).

use std::collections::BTreeMap;

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use atende_data::{ContactFilter, ContactRow, FieldDef, FieldKind, RowOutcome};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::contacts::BookQuery;
use crate::auth::{Admin, Auth, Staff};
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::Fields;
use crate::views::ErrorBody;
use crate::views::{page_cursor, page_limit};

/// Largest CSV taken by an import (about 100,000 rows of a few columns).
const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;
/// Most rows in one import.
const MAX_IMPORT_ROWS: usize = 100_000;
/// Most fields an admin may define.
const MAX_FIELDS: usize = 50;
/// Most options of a choice field.
const MAX_OPTIONS: usize = 100;
/// The country code put before a phone written without one (a Brazilian business's
/// customers write `(11) 98765-4321`).
const DEFAULT_COUNTRY: &str = "55";

/// Registered before `/contacts/{key}`, so that `export` is not taken for a key.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_fields)
        .service(put_fields)
        .service(import_contacts)
        .service(export_contacts);
}

/// One contact field, as defined by an admin.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldBody {
    /// 1 to 32 lower-case letters, digits or `_`, starting with a letter (read in lower
    /// case), other than the columns every contact has.
    #[schema(
        pattern = r"^\s*(?!([iI][dD]|[pP][hH][oO][nN][eE]|[nN][aA][mM][eE]|[lL][aA][bB][eE][lL][sS]|[nN][oO][tT][eE][sS]|[oO][pP][tT]_[iI][nN]|[oO][pP][tT][eE][dD]_[oO][uU][tT]|[uU][sS][eE][rR]_[iI][dD]|[uU][sS][eE][rR][nN][aA][mM][eE]|[pP][rR][oO][fF][iI][lL][eE]_[nN][aA][mM][eE]|[pP][hH][oO][nN][eE]_[nN][uU][mM][bB][eE][rR]_[iI][dD]|[cC][rR][eE][aA][tT][eE][dD]_[aA][tT]|[lL][aA][sS][tT]_[iI][nN][bB][oO][uU][nN][dD]_[aA][tT])\s*$)[A-Za-z][A-Za-z0-9_]{0,31}\s*$"
    )]
    pub key: String,
    #[schema(max_length = 100, pattern = r"\S")]
    pub label: String,
    /// `text`, `number`, `date` or `choice`.
    #[schema(value_type = String, pattern = "^(text|number|date|choice)$")]
    pub kind: FieldKind,
    /// The options of a `choice` field.
    #[serde(default)]
    pub options: Vec<String>,
}

impl From<&FieldDef> for FieldBody {
    fn from(d: &FieldDef) -> Self {
        FieldBody {
            key: d.key.clone(),
            label: d.label.clone(),
            kind: d.kind,
            options: d.options.clone(),
        }
    }
}

/// Every contact field, in the order they are shown.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldList {
    #[schema(max_items = 50)]
    pub items: Vec<FieldBody>,
}

/// The contact fields every contact may hold (any signed-in user).
#[utoipa::path(tag = "contacts", security(("bearer" = [])), responses(
    (status = 200, body = FieldList),
))]
#[get("/contact-fields")]
async fn list_fields(state: web::Data<AppState>, _auth: Auth) -> Result<HttpResponse> {
    let settings = state.store.settings()?;
    let items = settings
        .contact_fields
        .iter()
        .map(FieldBody::from)
        .collect();
    Ok(HttpResponse::Ok().json(FieldList { items }))
}

/// Replaces the contact fields (admins). Values of a field taken away stay on the
/// contacts, unseen, and come back if a field of that key is defined again.
#[utoipa::path(tag = "contacts", request_body = FieldList, security(("bearer" = [])), responses(
    (status = 200, body = FieldList),
))]
#[put("/contact-fields")]
async fn put_fields(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    body: Json<FieldList>,
) -> Result<HttpResponse> {
    let mut fields = Fields::default();
    fields.check(
        body.0.items.len() <= MAX_FIELDS,
        "items",
        "must be at most 50 fields",
    );
    let mut defs: Vec<FieldDef> = Vec::new();
    for (i, item) in body.0.items.into_iter().enumerate() {
        let key = item.key.trim().to_lowercase();
        let good_key = key.len() <= 32
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        fields.check(
            good_key,
            &format!("items[{i}].key"),
            "must be 1 to 32 lower-case letters, digits or _, starting with a letter",
        );
        fields.check(
            !defs.iter().any(|d| d.key == key) && !RESERVED.contains(&key.as_str()),
            &format!("items[{i}].key"),
            "is already a column of every contact",
        );
        fields.text(&format!("items[{i}].label"), &item.label, 100);
        let options: Vec<String> = item
            .options
            .iter()
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty())
            .collect();
        if item.kind == FieldKind::Choice {
            fields.check(
                !options.is_empty()
                    && options.len() <= MAX_OPTIONS
                    && options.iter().all(|o| o.chars().count() <= 100),
                &format!("items[{i}].options"),
                "a choice needs 1 to 100 options of up to 100 characters",
            );
        }
        defs.push(FieldDef {
            key,
            label: item.label.trim().to_string(),
            kind: item.kind,
            options: if item.kind == FieldKind::Choice {
                options
            } else {
                Vec::new()
            },
        });
    }
    fields.finish()?;
    let mut settings = (*state.store.settings()?).clone();
    settings.contact_fields = defs;
    state.store.put_settings(&settings)?;
    state.store.durable().await?;
    super::audit::record(
        &state,
        &req,
        Some(admin.0.id),
        "contact_fields.changed",
        None,
        None,
    )?;
    let items = settings
        .contact_fields
        .iter()
        .map(FieldBody::from)
        .collect();
    Ok(HttpResponse::Ok().json(FieldList { items }))
}

/// Columns every contact has: no field may take their names.
const RESERVED: &[&str] = &[
    "id",
    "phone",
    "name",
    "labels",
    "notes",
    "opt_in",
    "opted_out",
    "user_id",
    "username",
    "profile_name",
    "phone_number_id",
    "created_at",
    "last_inbound_at",
];

/// Which business number an import's contacts belong to.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Needed when the hub has more than one business number.
    pub phone_number_id: Option<String>,
}

/// What became of one row.
#[derive(Serialize, ToSchema)]
pub struct RowReport {
    /// The row's line in the file (the header is line 1).
    pub row: usize,
    /// `created`, `merged` or `refused`.
    pub status: &'static str,
    pub contact_id: Option<String>,
    /// Why a row was refused, or what a merge left as it was: a stable code
    /// (`phone_missing`, `phone_invalid`, `field_invalid`, `name_too_long`,
    /// `labels_invalid`, `notes_too_long`, `opt_in_invalid`, `row_invalid`,
    /// `opt_out_kept`) and an English sentence.
    pub code: Option<&'static str>,
    pub reason: Option<String>,
}

/// The report of an import: counts, and every row.
#[derive(Serialize, ToSchema)]
pub struct ImportReport {
    pub phone_number_id: String,
    pub created: usize,
    pub merged: usize,
    pub refused: usize,
    /// Columns that are neither a contact's own nor a defined field: not imported.
    pub ignored_columns: Vec<String>,
    pub rows: Vec<RowReport>,
}

/// Imports contacts from a CSV (staff). Columns, any case, English or Portuguese: `phone`
/// (telefone, celular, whatsapp; required), `name` (nome), `labels` (etiquetas, tags;
/// several split by `,`, `;` or `|`), `notes` (observacoes), `opt_in` (sim/não, yes/no,
/// 1/0), and any defined field by its key or label. Delimiter `,`, `;` or tab; UTF-8 or
/// Windows-1252. A phone already known is merged into its contact; each row is reported.
#[utoipa::path(tag = "contacts", params(ImportQuery), request_body(content = String, content_type = "text/csv"), security(("bearer" = [])), responses(
    (status = 200, body = ImportReport),
    (status = 409, description = "`number_required`: the hub has several numbers and `phone_number_id` names none; `unknown_reference`: it names no number of the hub", body = ErrorBody),
    (status = 413, body = ErrorBody),
))]
#[post("/contacts/import")]
async fn import_contacts(
    state: web::Data<AppState>,
    req: HttpRequest,
    staff: Staff,
    query: web::Query<ImportQuery>,
    mut payload: web::Payload,
) -> Result<HttpResponse> {
    let number = import_number(&state, query.phone_number_id.as_deref())?;
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| Error::field("file", "the upload broke off"))?;
        if bytes.len() + chunk.len() > MAX_IMPORT_BYTES {
            return Err(Error::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    let defs = state.store.settings()?.contact_fields.clone();
    let sheet = read_sheet(&bytes, &defs)?;
    let store = state.store.clone();
    let rows: Vec<ContactRow> = sheet
        .rows
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .cloned()
        .collect();
    let import_number = number.clone();
    let outcomes =
        web::block(move || store.import_contacts(&import_number, &rows, chrono::Utc::now()))
            .await??;
    state.store.durable().await?;
    let mut outcomes = outcomes.into_iter();
    let mut report = ImportReport {
        phone_number_id: number,
        created: 0,
        merged: 0,
        refused: 0,
        ignored_columns: sheet.ignored,
        rows: Vec::with_capacity(sheet.rows.len()),
    };
    for (i, row) in sheet.rows.iter().enumerate() {
        let line = sheet.lines.get(i).copied().unwrap_or(i + 2);
        let entry = match row {
            Err(refused) => {
                report.refused += 1;
                RowReport {
                    row: line,
                    status: "refused",
                    contact_id: None,
                    code: Some(refused.code),
                    reason: Some(refused.message.clone()),
                }
            }
            Ok(_) => {
                let outcome = outcomes.next().ok_or_else(|| {
                    Error::internal(std::io::Error::other("an import outcome is missing"))
                })?;
                let (status, id, code, reason) = match outcome {
                    RowOutcome::Created(id) => ("created", id, None, None),
                    RowOutcome::Merged(id) => ("merged", id, None, None),
                    RowOutcome::MergedOptOutKept(id) => (
                        "merged",
                        id,
                        Some("opt_out_kept"),
                        Some("kept opted out: the customer asked for no marketing messages".into()),
                    ),
                };
                if status == "created" {
                    report.created += 1;
                } else {
                    report.merged += 1;
                }
                RowReport {
                    row: line,
                    status,
                    contact_id: Some(id.to_string()),
                    code,
                    reason,
                }
            }
        };
        report.rows.push(entry);
    }
    tracing::info!(
        by = %staff.0.id,
        created = report.created,
        merged = report.merged,
        refused = report.refused,
        "contacts imported"
    );
    super::audit::record(
        &state,
        &req,
        Some(staff.0.id),
        "contacts.imported",
        None,
        Some(format!(
            "{} created, {} merged, {} refused",
            report.created, report.merged, report.refused
        )),
    )?;
    Ok(HttpResponse::Ok().json(report))
}

/// The business number an import is for: the one named, or the only one.
fn import_number(state: &AppState, given: Option<&str>) -> Result<String> {
    let numbers = state.store.numbers()?;
    Ok(super::numbers::named_or_only(&numbers, given)?.id.clone())
}

/// Why a row was refused: a code for programs and the console, a sentence for people.
#[derive(Debug, PartialEq)]
struct Refused {
    code: &'static str,
    message: String,
}

fn refused(code: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        code,
        message: message.into(),
    }
}

/// `value` when it has at most `max` characters; else refused with `code`.
fn at_most(
    value: &str,
    max: usize,
    code: &'static str,
    column: &str,
) -> std::result::Result<String, Refused> {
    if value.chars().count() > max {
        return Err(refused(
            code,
            format!("{column}: must be at most {max} characters"),
        ));
    }
    Ok(value.to_string())
}

/// A CSV read into rows: each checked row, or why it was refused.
struct Sheet {
    rows: Vec<std::result::Result<ContactRow, Refused>>,
    /// The file line each row started on.
    lines: Vec<usize>,
    ignored: Vec<String>,
}

/// What a column holds.
#[derive(Clone, Copy, PartialEq)]
enum Column {
    Phone,
    Name,
    Labels,
    Notes,
    OptIn,
    Field(usize),
    Ignored,
}

/// Reads and checks a CSV's rows against the contact fields `defs`.
fn read_sheet(bytes: &[u8], defs: &[FieldDef]) -> Result<Sheet> {
    let text = decode_text(bytes);
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = [b';', b',', b'\t']
        .into_iter()
        .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Error::field("file", format!("is not a CSV file: {e}")))?
        .clone();
    let columns: Vec<Column> = headers.iter().map(|h| column(h, defs)).collect();
    if !columns.contains(&Column::Phone) {
        return Err(Error::field(
            "file",
            "needs a phone column (phone, telefone, celular or whatsapp)",
        ));
    }
    let ignored = headers
        .iter()
        .zip(&columns)
        .filter(|(h, c)| **c == Column::Ignored && !h.trim().is_empty())
        .map(|(h, _)| h.trim().to_string())
        .collect();
    let mut sheet = Sheet {
        rows: Vec::new(),
        lines: Vec::new(),
        ignored,
    };
    for record in reader.records() {
        if sheet.rows.len() >= MAX_IMPORT_ROWS {
            return Err(Error::field("file", "must have at most 100000 rows"));
        }
        let (line, row) = match record {
            Ok(record) => {
                if record.iter().all(|v| v.trim().is_empty()) {
                    continue;
                }
                let line = record.position().map_or(0, |p| p.line() as usize);
                (line, check_row(&record, &columns, defs))
            }
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line() as usize);
                (
                    line,
                    Err(refused("row_invalid", format!("not a CSV row: {error}"))),
                )
            }
        };
        sheet.lines.push(line);
        sheet.rows.push(row);
    }
    Ok(sheet)
}

/// The file as text: UTF-8 (its byte-order mark dropped), else Windows-1252 as a
/// spreadsheet on a Brazilian computer saves it (read as Latin-1, which it extends).
fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

/// What a header names.
fn column(header: &str, defs: &[FieldDef]) -> Column {
    let name = atende_data::records::settings::keyword(header)
        .replace([' ', '-'], "_")
        .to_lowercase();
    match name.as_str() {
        "phone" | "telefone" | "celular" | "whatsapp" | "numero" | "wa_id" => Column::Phone,
        "name" | "nome" => Column::Name,
        "labels" | "label" | "tags" | "etiquetas" | "etiqueta" => Column::Labels,
        "notes" | "notas" | "observacoes" | "observacao" => Column::Notes,
        "opt_in" | "optin" | "consentimento" | "aceita_marketing" => Column::OptIn,
        _ => defs
            .iter()
            .position(|d| {
                d.key == name
                    || atende_data::records::settings::keyword(&d.label)
                        == atende_data::records::settings::keyword(header)
            })
            .map_or(Column::Ignored, Column::Field),
    }
}

/// One row checked: the contact it describes, or why it was refused.
fn check_row(
    record: &csv::StringRecord,
    columns: &[Column],
    defs: &[FieldDef],
) -> std::result::Result<ContactRow, Refused> {
    let mut row = ContactRow::default();
    let mut fields = BTreeMap::new();
    for (value, column) in record.iter().zip(columns) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match column {
            Column::Phone => row.phone = phone(value).map_err(|m| refused("phone_invalid", m))?,
            Column::Name => {
                let max = crate::validate::MAX_NAME;
                row.name = Some(at_most(value, max, "name_too_long", "name")?);
            }
            Column::Labels => {
                for label in value.split([',', ';', '|']).map(str::trim) {
                    if label.chars().count() > 32 {
                        return Err(refused(
                            "labels_invalid",
                            "labels: each must be at most 32 characters",
                        ));
                    }
                    if !label.is_empty()
                        && !row.labels.iter().any(|l| l.eq_ignore_ascii_case(label))
                    {
                        row.labels.push(label.to_string());
                    }
                }
                if row.labels.len() > 20 {
                    return Err(refused("labels_invalid", "labels: at most 20"));
                }
            }
            Column::Notes => {
                let max = super::contacts::MAX_NOTES;
                row.notes = Some(at_most(value, max, "notes_too_long", "notes")?);
            }
            Column::OptIn => {
                row.opt_in = Some(yes_or_no(value).map_err(|m| refused("opt_in_invalid", m))?)
            }
            Column::Field(i) => {
                let def = &defs[*i];
                let stored = def
                    .normal(value)
                    .map_err(|p| refused("field_invalid", format!("{}: {p}", def.key)))?;
                fields.insert(def.key.clone(), stored);
            }
            Column::Ignored => {}
        }
    }
    if row.phone.is_empty() {
        return Err(refused("phone_missing", "phone: missing"));
    }
    row.fields = fields;
    Ok(row)
}

/// A phone as a person writes it, with the country code put in when left out: `(11)
/// 98765-4321`, `011 98765-4321` and `+55 11 98765-4321` are one number.
pub(crate) fn phone(value: &str) -> std::result::Result<String, String> {
    let plus = value.trim_start().starts_with('+');
    let bad = value
        .chars()
        .any(|c| !(c.is_ascii_digit() || " +-().".contains(c)));
    let digits = atende_data::phone::digits(value);
    let digits = if plus {
        digits
    } else if let Some(international) = digits.strip_prefix("00") {
        international.to_string()
    } else {
        // A leading 0 is the trunk prefix, not part of the number; what is left of at
        // most 11 digits is a national number (area code and number).
        let national = digits.trim_start_matches('0');
        if national.len() <= 11 {
            format!("{DEFAULT_COUNTRY}{national}")
        } else {
            national.to_string()
        }
    };
    if bad || !(10..=15).contains(&digits.len()) {
        return Err(format!("phone: {value:?} is not a phone number"));
    }
    Ok(digits)
}

/// An opt-in column's value.
fn yes_or_no(value: &str) -> std::result::Result<bool, String> {
    match atende_data::records::settings::keyword(value).as_str() {
        "SIM" | "S" | "YES" | "Y" | "TRUE" | "1" | "X" => Ok(true),
        "NAO" | "N" | "NO" | "FALSE" | "0" => Ok(false),
        _ => Err(format!("opt_in: {value:?} is not yes or no (sim/não)")),
    }
}

/// Every contact the filters find, as CSV (staff): the columns an import reads back, then
/// one per contact field. UTF-8 with a byte-order mark, so spreadsheets read accents.
#[utoipa::path(tag = "contacts", params(BookQuery), security(("bearer" = [])), responses(
    (status = 200, content_type = "text/csv", body = String),
))]
#[get("/contacts/export")]
async fn export_contacts(
    state: web::Data<AppState>,
    req: HttpRequest,
    staff: Staff,
    query: web::Query<BookQuery>,
) -> Result<HttpResponse> {
    // The whole book, whatever the page; a page size or cursor out of shape is refused
    // all the same.
    page_limit(query.limit)?;
    page_cursor::<u64>(query.cursor.as_deref())?;
    let filter = query.filter(&state.store.settings()?.contact_fields)?;
    let store = state.store.clone();
    let csv = web::block(move || export(&store, &filter)).await??;
    super::audit::record(
        &state,
        &req,
        Some(staff.0.id),
        "contacts.exported",
        None,
        None,
    )?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename("contacts.csv".into())],
        })
        .body(csv))
}

fn export(store: &atende_data::Store, filter: &ContactFilter) -> Result<Vec<u8>> {
    let defs = store.settings()?.contact_fields.clone();
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        let mut header: Vec<&str> = vec![
            "id",
            "phone",
            "user_id",
            "username",
            "name",
            "profile_name",
            "labels",
            "notes",
            "opted_out",
            "opt_in",
            "phone_number_id",
            "created_at",
            "last_inbound_at",
        ];
        header.extend(defs.iter().map(|d| d.key.as_str()));
        writer.write_record(&header).map_err(Error::internal)?;
        let mut cursor = None;
        loop {
            let page = store.contact_page(filter, cursor, 1000)?;
            for c in &page.contacts {
                let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map(|t| t.to_rfc3339()).unwrap_or_default()
                };
                let mut record = vec![
                    c.id.to_string(),
                    c.wa_id.clone().unwrap_or_default(),
                    c.user_id.clone().unwrap_or_default(),
                    c.username.clone().unwrap_or_default(),
                    c.name.clone().unwrap_or_default(),
                    c.profile_name.clone().unwrap_or_default(),
                    c.tags.join(", "),
                    c.notes.clone().unwrap_or_default(),
                    when(c.marketing_opt_out.as_ref().map(|o| o.at)),
                    if c.marketing_opt_in.is_some() {
                        "yes"
                    } else {
                        ""
                    }
                    .into(),
                    c.phone_number_id.clone(),
                    c.created_at.to_rfc3339(),
                    when(c.last_inbound_at),
                ];
                record.extend(
                    defs.iter()
                        .map(|d| c.fields.get(&d.key).cloned().unwrap_or_default()),
                );
                writer.write_record(&record).map_err(Error::internal)?;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        writer.flush().map_err(Error::internal)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_read_as_people_write_them() {
        for (given, digits) in [
            ("(11) 98765-4321", "5511987654321"),
            ("011 98765-4321", "5511987654321"),
            ("+55 11 98765-4321", "5511987654321"),
            ("5511987654321", "5511987654321"),
            ("+1 415 555 2671", "14155552671"),
            ("011987654321", "5511987654321"),
            ("00 1 415 555 2671", "14155552671"),
        ] {
            assert_eq!(phone(given).as_deref(), Ok(digits), "{given}");
        }
        for bad in ["12345", "abc", "11 9876-ABCD", "+1234567890123456"] {
            assert!(phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_semicolon_sheet_in_windows_1252_is_read_with_its_fields() {
        let defs = vec![FieldDef {
            key: "cidade".into(),
            label: "Cidade".into(),
            kind: FieldKind::Choice,
            options: vec!["São Paulo".into(), "Recife".into()],
        }];
        // "Jo\xe3o" is João in Windows-1252.
        let bytes = b"Nome;Telefone;Cidade;Aceita marketing;Extra\nJo\xe3o;(11) 98765-4321;recife;sim;x\nAna;123;Recife;;\n;;;;\nBia;(21) 99999-0000;Natal;n\xe3o;\n";
        let sheet = read_sheet(bytes, &defs).unwrap();
        assert_eq!(sheet.ignored, ["Extra"]);
        assert_eq!(sheet.rows.len(), 3, "the blank row is skipped");
        let joao = sheet.rows[0].as_ref().unwrap();
        assert_eq!(joao.name.as_deref(), Some("João"));
        assert_eq!(joao.phone, "5511987654321");
        assert_eq!(joao.fields["cidade"], "Recife");
        assert_eq!(joao.opt_in, Some(true));
        assert_eq!(sheet.rows[1].as_ref().unwrap_err().code, "phone_invalid");
        let wrong_city = sheet.rows[2].as_ref().unwrap_err();
        assert_eq!(wrong_city.code, "field_invalid");
        assert!(wrong_city.message.starts_with("cidade:"));
        assert_eq!(sheet.lines, [2, 3, 5]);
    }
}
