//! `atende bench campaign`: a campaign to many imported contacts through a simulated Cloud
//! API at the number's rate limit, while agents reply in their own chats: the campaign's
//! send rate against its own rate and the number's limit, each contact once, and the
//! agents' reply latency meanwhile (the room a campaign leaves them).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use atende_web::sandbox::SimConfig;
use serde_json::{json, Value};

use super::hub::{Hub, APP_SECRET, PHONE_NUMBER_ID};
use super::load::Pace;
use super::outbound::{claimed_chats, post_replies, start_sim, wait_sent};
use super::stats::{verdict, Samples};

const SIM_TOKEN: &str = "bench-cloud-token";

#[derive(clap::Args, Debug, Clone)]
pub struct CampaignArgs {
    /// The business number's rate limit (WHATSAPP_RATE_LIMIT), messages per second.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub rate: u32,
    /// Contacts in the audience.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub contacts: u64,
    /// Agents' replies per second while the campaign runs, over 20 chats.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub replies: u32,
}

pub async fn run(args: CampaignArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = SimConfig::local(SIM_TOKEN, APP_SECRET);
    config.phone_number_id = PHONE_NUMBER_ID.into();
    config.status_delay = Duration::from_millis(20);
    let waba = config.waba_id.clone();
    let sim = start_sim(config)?;
    let hub = Hub::start(
        &dir.path().join("hub"),
        Some((&sim.base_url(), SIM_TOKEN)),
        &[
            ("WHATSAPP_RATE_LIMIT", args.rate.to_string()),
            ("WHATSAPP_BUSINESS_ACCOUNT_ID", waba),
        ],
    )
    .await?;
    sim.set_webhook_url(hub.url("/api/v1/webhooks/whatsapp"));
    let campaign_rate = args.rate / 2;
    println!(
        "Campaign: {} contacts, number limit {}/s (the campaign takes half, {campaign_rate}/s), agents replying at {}/s",
        args.contacts, args.rate, args.replies
    );

    // Twenty customers wrote, and the admin holds their chats: the agents' side.
    let chats = claimed_chats(&hub, 20).await?;

    let mut csv = String::from("nome;telefone;etiquetas\n");
    for i in 0..args.contacts {
        csv.push_str(&format!("Cliente {i};552199{:07};todos\n", i));
    }
    let imported = Instant::now();
    let report: Value = hub
        .client
        .post(hub.url(&format!(
            "/api/v1/contacts/import?phone_number_id={PHONE_NUMBER_ID}"
        )))
        .bearer_auth(&hub.admin)
        .body(csv)
        .send()
        .await?
        .json()
        .await?;
    if report["created"].as_u64() != Some(args.contacts) {
        bail!(
            "the import did not create every contact: {}",
            report["created"]
        );
    }
    println!(
        "  import: {} contacts in {:.2} s",
        args.contacts,
        imported.elapsed().as_secs_f64()
    );
    let campaign = hub
        .call(
            reqwest::Method::POST,
            "/api/v1/campaigns",
            Some(json!({
                "name": "bench",
                "phone_number_id": PHONE_NUMBER_ID,
                "template": {"name": "oferta_do_mes", "language": "pt_BR"},
                "variables": ["{{contact.first_name|cliente}}", "o plano família"],
                "audience": {"labels": ["todos"]},
            })),
        )
        .await?;
    let id = campaign["id"]
        .as_str()
        .context("no campaign id")?
        .to_string();
    let started = Instant::now();
    hub.call(
        reqwest::Method::POST,
        &format!("/api/v1/campaigns/{id}/start"),
        Some(json!({})),
    )
    .await?;

    // The agents reply while it runs.
    let expected = Duration::from_secs_f64(args.contacts as f64 / f64::from(campaign_rate));
    let replying = Pace {
        concurrency: 64,
        duration: expected.mul_f64(0.8).max(Duration::from_secs(1)),
        rate: Some(f64::from(args.replies)),
        limit: None,
    };
    let replies = post_replies(&hub, &chats, "r", replying).await?;
    let deadline = started + expected * 3 + Duration::from_secs(60);
    let offers = loop {
        let offers: Vec<(String, Instant)> = sim
            .sent()
            .into_iter()
            .filter(|m| m.body["type"] == "template")
            .map(|m| (m.body["to"].as_str().unwrap_or_default().to_string(), m.at))
            .collect();
        if offers.len() as u64 >= args.contacts || Instant::now() > deadline {
            break offers;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut per_contact: HashMap<&str, usize> = HashMap::new();
    for (to, _) in &offers {
        *per_contact.entry(to.as_str()).or_default() += 1;
    }
    let twice = per_contact.values().filter(|n| **n > 1).count();
    let missing = args.contacts as usize - per_contact.len().min(args.contacts as usize);
    let mut times: Vec<Instant> = offers.iter().map(|(_, at)| *at).collect();
    times.sort();
    let measured = match (times.first(), times.last()) {
        (Some(first), Some(last)) if last > first => {
            (times.len() - 1) as f64 / (*last - *first).as_secs_f64()
        }
        _ => 0.0,
    };
    let of_own = measured / f64::from(campaign_rate);
    // What the campaign may take: its rate, or what the agents leave of the number's.
    let room = f64::from(campaign_rate).min(f64::from(args.rate) - f64::from(args.replies));
    let paced = measured >= 0.9 * room && of_own <= 1.02;
    println!(
        "  campaign: {measured:.0} sends/s = {:.1}% of its rate, {:.1}% of the number's limit  [target: at least 90% of {room:.0}/s, what the agents leave it, at most its rate: {}]; {} sent, {missing} missing, {twice} twice  [{}]",
        of_own * 100.0,
        measured / f64::from(args.rate) * 100.0,
        verdict(paced),
        offers.len(),
        verdict(missing == 0 && twice == 0)
    );
    let sent = wait_sent(&sim, &replies, Duration::from_secs(60)).await;
    let mut latency = Samples::default();
    for (text, at) in &replies {
        if let Some(sent) = sent.get(text) {
            latency.push(sent[0].saturating_duration_since(*at));
        }
    }
    println!(
        "  agents' replies meanwhile ({} sent of {}): reply accepted -> request at the Cloud API {}",
        sent.len(),
        replies.len(),
        latency.summary()
    );
    sim.stop();
    Ok(())
}
