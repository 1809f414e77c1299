//! The contact book: fields an admin defines, filters, CSV import with its per-row report,
//! CSV export.

use serde_json::{json, Value};

use crate::helpers::*;

async fn import(app: &TestApp, token: &str, csv: String) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/contacts/import?phone_number_id={NUMBER}")))
        .bearer_auth(token)
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap()
}

async fn define_fields(app: &TestApp, admin: &Tokens) {
    let fields = json!({"items": [
        {"key": "cidade", "label": "Cidade", "kind": "choice", "options": ["São Paulo", "Recife"]},
        {"key": "plano", "label": "Plano", "kind": "text"},
        {"key": "divida", "label": "Dívida", "kind": "number"},
        {"key": "vencimento", "label": "Vencimento", "kind": "date"},
    ]});
    let put = app
        .put("/api/v1/contact-fields", &admin.access, &fields)
        .await;
    assert_eq!(put.status(), 200);
}

/// Row `i` of the big sheet: a phone in one of the ways people write them.
fn phone_of(i: usize) -> String {
    let n = 10_000_000 + i;
    let (a, b) = (n / 10_000, n % 10_000);
    match i % 3 {
        0 => format!("(11) 9{a:04}-{b:04}"),
        1 => format!("+55 11 9{a:04} {b:04}"),
        _ => format!("0119{a:04}{b:04}"),
    }
}

#[actix_web::test]
async fn ten_thousand_rows_import_with_a_report_of_every_row() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    define_fields(&app, &admin).await;
    // A customer who said SAIR before the import.
    app.customer_says("5511910000007", "wamid.sair", "SAIR")
        .await;

    let mut csv =
        String::from("Nome;Telefone;Etiquetas;Cidade;Dívida;Vencimento;Aceita marketing;Origem\n");
    let (mut refused, mut merged) = (Vec::new(), Vec::new());
    for i in 0..10_000 {
        let line = i + 2;
        if i % 500 == 499 {
            // Bad phone.
            csv.push_str(&format!(
                "Cliente {i};12-34;vip;Recife;10;2027-01-31;sim;site\n"
            ));
            refused.push(line);
        } else if i % 1000 == 250 {
            // Not a city of the choice field.
            csv.push_str(&format!("Cliente {i};{};;Natal;;;;\n", phone_of(i)));
            refused.push(line);
        } else if i % 400 == 399 {
            // The phone of row i - 1 again, written another way: merged into that contact.
            let again = phone_of(i - 1).replace(['(', ')', '-', ' '], "");
            csv.push_str(&format!("Cliente {i};{again};lote2;;;;;\n"));
            merged.push(line);
        } else {
            let label = if i % 2 == 0 { "vip" } else { "novo" };
            csv.push_str(&format!(
                "\"Cliente {i}; da Silva\";{};{label};recife;\"1.234,50\";31/01/2027;sim;site\n",
                phone_of(i)
            ));
        }
    }
    let response = import(&app, &admin.access, csv).await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10_000);
    assert_eq!(report["refused"], refused.len());
    // Row of customer 7 is merged (they wrote before), with their stop kept.
    assert_eq!(report["merged"], merged.len() + 1);
    assert_eq!(report["created"], 10_000 - refused.len() - merged.len() - 1);
    assert_eq!(report["ignored_columns"], json!(["Origem"]));
    for row in rows {
        let line = row["row"].as_u64().unwrap() as usize;
        let status = row["status"].as_str().unwrap();
        if refused.contains(&line) {
            assert_eq!(status, "refused", "{row}");
            assert!(
                row["reason"]
                    .as_str()
                    .unwrap()
                    .contains(if line % 1000 == 252 {
                        "cidade"
                    } else {
                        "phone"
                    }),
                "{row}"
            );
        } else if merged.contains(&line) {
            assert_eq!(status, "merged", "{row}");
            assert_eq!(row["contact_id"], rows[line - 3]["contact_id"], "{row}");
        }
    }
    let seventh = &rows[7];
    assert_eq!(seventh["status"], "merged");
    assert!(seventh["reason"].as_str().unwrap().contains("opted out"));

    // What was imported is found by the filters.
    let one = app
        .get_json("/api/v1/contacts?q=11910000002", &admin.access)
        .await;
    let contact = &one["items"][0];
    assert_eq!(contact["name"], "Cliente 2; da Silva");
    assert_eq!(contact["wa_id"], "5511910000002");
    assert_eq!(contact["fields"]["cidade"], "Recife");
    assert_eq!(contact["fields"]["divida"], 1234.5);
    assert_eq!(contact["fields"]["vencimento"], "2027-01-31");
    assert_eq!(contact["marketing_opt_in"]["source"], "import");
    let merged_contact = app
        .get_json("/api/v1/contacts?q=11910000398", &admin.access)
        .await;
    assert_eq!(merged_contact["items"][0]["tags"], json!(["vip", "lote2"]));
    let opted = app
        .get_json("/api/v1/contacts?opted_out=true", &admin.access)
        .await;
    assert_eq!(opted["items"].as_array().unwrap().len(), 1);
    assert_eq!(opted["items"][0]["wa_id"], "5511910000007");
    let mut recife = 0;
    let mut cursor = String::new();
    loop {
        let page = app
            .get_json(
                &format!("/api/v1/contacts?field=cidade:RECIFE&label=vip,lote2&limit=200{cursor}"),
                &admin.access,
            )
            .await;
        recife += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let vip_rows = (0..10_000)
        .filter(|i| i % 500 != 499 && i % 1000 != 250 && i % 400 != 399 && i % 2 == 0)
        .count();
    assert_eq!(recife, vip_rows, "vip contacts in Recife");

    // Exported, and read back by an import as the same contacts.
    let export = app
        .get("/api/v1/contacts/export?label=lote2", &admin.access)
        .await;
    assert_eq!(export.status(), 200);
    assert!(export.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = export.text().await.unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().trim_start_matches('\u{feff}');
    assert!(
        header.starts_with("id,phone,user_id,username,name"),
        "{header}"
    );
    assert!(
        header.ends_with("cidade,plano,divida,vencimento"),
        "{header}"
    );
    assert_eq!(lines.count(), merged.len());
    let again: Value = import(&app, &admin.access, text)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["merged"], merged.len());
    assert_eq!(again["created"], 0);
}

#[actix_web::test]
async fn fields_are_the_admins_and_bad_values_change_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agent = app.user(&admin, "agent@test.local", "agent").await;
    let refused = app
        .put(
            "/api/v1/contact-fields",
            &agent.access,
            &json!({"items": []}),
        )
        .await;
    assert_error(refused, 403, "admin_only").await;
    let bad = app
        .put(
            "/api/v1/contact-fields",
            &admin.access,
            &json!({"items": [
                {"key": "Phone", "label": "x", "kind": "text"},
                {"key": "tier", "label": "Tier", "kind": "choice"},
            ]}),
        )
        .await;
    let body = assert_error(bad, 400, "validation_failed").await;
    assert!(body["error"]["fields"]["items[0].key"].is_string());
    assert!(body["error"]["fields"]["items[1].options"].is_string());
    define_fields(&app, &admin).await;
    let listed = app.get_json("/api/v1/contact-fields", &agent.access).await;
    assert_eq!(listed["items"][0]["key"], "cidade");

    app.customer_says(CUSTOMER, "wamid.f1", "oi").await;
    let path = format!("/api/v1/contacts/{CUSTOMER}");
    let wrong = app
        .patch(
            &path,
            &admin.access,
            &json!({"fields": {"divida": "muito", "nada": "x"}}),
        )
        .await;
    let body = assert_error(wrong, 400, "validation_failed").await;
    assert!(body["error"]["fields"]["fields.divida"].is_string());
    assert!(body["error"]["fields"]["fields.nada"].is_string());
    assert_eq!(
        app.get_json(&path, &admin.access).await["fields"],
        json!({})
    );
    let set = app
        .patch(
            &path,
            &admin.access,
            &json!({"fields": {"divida": 99.9, "cidade": "são paulo"}, "marketing_opt_in": true}),
        )
        .await;
    assert_eq!(set.status(), 200);
    let contact: Value = set.json().await.unwrap();
    assert_eq!(
        contact["fields"],
        json!({"cidade": "São Paulo", "divida": 99.9})
    );
    assert_eq!(contact["marketing_opt_in"]["source"], "team");
    let cleared = app
        .patch(&path, &admin.access, &json!({"fields": {"divida": null}}))
        .await;
    assert_eq!(
        cleared.json::<Value>().await.unwrap()["fields"],
        json!({"cidade": "São Paulo"})
    );
    let found = app
        .get_json(
            "/api/v1/contacts?field=cidade:S%C3%A3o%20Paulo",
            &admin.access,
        )
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let bad_filter = app
        .get("/api/v1/contacts?field=cidade", &admin.access)
        .await;
    assert_error(bad_filter, 400, "validation_failed").await;
    let too_long = format!("cidade:{}", "x".repeat(600));
    for nothing_there in ["nao-existe:x", too_long.as_str()] {
        let found = app
            .get_json(
                &format!("/api/v1/contacts?field={nothing_there}"),
                &admin.access,
            )
            .await;
        assert_eq!(found["items"], json!([]), "{nothing_there}");
    }

    // Importing is for staff; a sheet without a phone column is refused whole.
    assert_error(
        import(&app, &agent.access, "phone\n5511987654321\n".into()).await,
        403,
        "staff_only",
    )
    .await;
    let no_phone = import(&app, &admin.access, "nome;cidade\nAna;Recife\n".into()).await;
    let body = assert_error(no_phone, 400, "validation_failed").await;
    assert!(body["error"]["fields"]["file"]
        .as_str()
        .unwrap()
        .contains("phone"));
    assert_error(
        app.get("/api/v1/contacts/export", &agent.access).await,
        403,
        "staff_only",
    )
    .await;
    // The sandbox has two numbers: an import names the one its contacts write to.
    let unnamed = app
        .client
        .post(app.url("/api/v1/contacts/import"))
        .bearer_auth(&admin.access)
        .body("phone\n5511987654321\n")
        .send()
        .await
        .unwrap();
    let body = assert_error(unnamed, 409, "number_required").await;
    assert!(body["error"]["fields"]["phone_number_id"].is_string());
}

const CUSTOMER: &str = "5511987654321";
