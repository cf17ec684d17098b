//! Runs the same DynamoDB workload against several endpoints and prints ops/s and p50/p99 per
//! operation and client count, with the throughput ratio of the first target to the second.
//!
//! cargo run --release -p sweetlies-dynamo --example bench -- \
//!     --target sweetlies=http://127.0.0.1:8000 --target moto=http://127.0.0.1:5001
//!
//! `crates/dynamo/bench/run.sh` sets everything up (PostgreSQL, the server, moto) and calls this.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, Put, PutRequest, ScalarAttributeType,
    TransactWriteItem, WriteRequest,
};
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// NAME=URL of an endpoint; give two to get the ratio of the first to the second.
    #[arg(long = "target", required = true)]
    targets: Vec<String>,
    /// Seconds each (operation, client count) runs.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Concurrent client counts.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    clients: Vec<usize>,
    /// Operations to run (names as printed; default all).
    #[arg(long, value_delimiter = ',')]
    operations: Vec<String>,
    #[arg(long, env = "AWS_ACCESS_KEY_ID", default_value = "AKIDSWEETLIESTEST")]
    access_key_id: String,
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", default_value = "test-only-insecure-secret-key")]
    secret_access_key: String,
}

const TABLE: &str = "bench";
const PARTITIONS: u64 = 100;
const ITEMS_PER_PARTITION: u64 = 10;
const OPERATIONS: [&str; 5] = ["GetItem", "PutItem", "Query", "UpdateItem (conditional)", "TransactWriteItems (4 puts)"];

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

/// xorshift64: enough randomness for key choice without another dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

async fn setup(client: &Client) -> anyhow::Result<()> {
    let _ = client.delete_table().table_name(TABLE).send().await;
    let attr = |name: &str| AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build();
    let key = |name: &str, t| KeySchemaElement::builder().attribute_name(name).key_type(t).build();
    client
        .create_table()
        .table_name(TABLE)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .send()
        .await?;
    let payload = "x".repeat(200);
    let mut batch = Vec::new();
    for p in 0..PARTITIONS {
        for i in 0..ITEMS_PER_PARTITION {
            batch.push(
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .item("pk", s(format!("p{p}")))
                            .item("sk", s(format!("s{i:03}")))
                            .item("n", AttributeValue::N("0".into()))
                            .item("payload", s(payload.clone()))
                            .build()?,
                    )
                    .build(),
            );
            if batch.len() == 25 {
                client.batch_write_item().request_items(TABLE, std::mem::take(&mut batch)).send().await?;
            }
        }
    }
    Ok(())
}

async fn one_operation(client: &Client, operation: &str, rng: &mut Rng, worker: usize, seq: u64) -> anyhow::Result<()> {
    let existing = |rng: &mut Rng| (format!("p{}", rng.below(PARTITIONS)), format!("s{:03}", rng.below(ITEMS_PER_PARTITION)));
    match operation {
        "GetItem" => {
            let (pk, sk) = existing(rng);
            client.get_item().table_name(TABLE).key("pk", s(pk)).key("sk", s(sk)).send().await?;
        }
        "PutItem" => {
            client
                .put_item()
                .table_name(TABLE)
                .item("pk", s(format!("put-{worker}")))
                .item("sk", s(format!("{seq}")))
                .item("payload", s("y".repeat(200)))
                .send()
                .await?;
        }
        "Query" => {
            let partition = format!("p{}", rng.below(PARTITIONS));
            client
                .query()
                .table_name(TABLE)
                .key_condition_expression("pk = :p")
                .expression_attribute_values(":p", s(partition))
                .send()
                .await?;
        }
        "UpdateItem (conditional)" => {
            let (pk, sk) = existing(rng);
            client
                .update_item()
                .table_name(TABLE)
                .key("pk", s(pk))
                .key("sk", s(sk))
                .update_expression("SET n = n + :one")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .send()
                .await?;
        }
        _ => {
            let mut request = client.transact_write_items();
            for part in 0..4 {
                request = request.transact_items(
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(TABLE)
                                .item("pk", s(format!("tx-{worker}-{seq}")))
                                .item("sk", s(format!("{part}")))
                                .item("payload", s("z".repeat(100)))
                                .build()?,
                        )
                        .build(),
                );
            }
            request.send().await?;
        }
    }
    Ok(())
}

struct Measurement {
    ops_per_second: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

async fn measure(client: &Client, operation: &'static str, clients: usize, seconds: f64) -> Measurement {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..clients {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((worker as u64 + 1) * 0x1000_0001));
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut seq = 0u64;
            while Instant::now() < deadline {
                seq += 1;
                let begin = Instant::now();
                match one_operation(&client, operation, &mut rng, worker, seq + started.elapsed().as_nanos() as u64).await {
                    Ok(()) => latencies.push(begin.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.expect("worker finished");
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pick = |q: f64| latencies.get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1))).copied().unwrap_or_default();
    Measurement { ops_per_second: latencies.len() as f64 / elapsed, p50: pick(0.50), p99: pick(0.99), errors }
}

fn selected(args: &Args) -> Vec<&'static str> {
    OPERATIONS.into_iter().filter(|o| args.operations.is_empty() || args.operations.iter().any(|a| o.starts_with(a.as_str()))).collect()
}

fn client(url: &str, args: &Args) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .endpoint_url(url)
        .region(Region::new("eu-central-1"))
        .credentials_provider(Credentials::new(&args.access_key_id, &args.secret_access_key, None, None, "bench"))
        .build();
    Client::from_conf(config)
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let targets: Vec<(String, String)> = args
        .targets
        .iter()
        .map(|t| t.split_once('=').map(|(n, u)| (n.to_owned(), u.to_owned())).ok_or_else(|| anyhow::anyhow!("--target must be NAME=URL, got {t}")))
        .collect::<anyhow::Result<_>>()?;
    let mut results: HashMap<(String, &str, usize), Measurement> = HashMap::new();
    for (name, url) in &targets {
        let client = client(url, &args);
        eprintln!("{name}: loading {} items", PARTITIONS * ITEMS_PER_PARTITION);
        setup(&client).await.map_err(|e| anyhow::anyhow!("setting up {name} at {url}: {e:?}"))?;
        for operation in selected(&args) {
            for &clients in &args.clients {
                let m = measure(&client, operation, clients, args.seconds).await;
                eprintln!("{name}: {operation} x{clients}: {:.0} ops/s p50 {} ms p99 {} ms ({} errors)", m.ops_per_second, ms(m.p50), ms(m.p99), m.errors);
                results.insert((name.clone(), operation, clients), m);
            }
        }
    }
    let mut header = "| operation | clients |".to_owned();
    let mut rule = "|---|---|".to_owned();
    for (name, _) in &targets {
        header += &format!(" {name} ops/s | {name} p50 ms | {name} p99 ms |");
        rule += "---|---|---|";
    }
    if targets.len() >= 2 {
        header += &format!(" {} / {} |", targets[0].0, targets[1].0);
        rule += "---|";
    }
    println!("{header}\n{rule}");
    for operation in selected(&args) {
        for &clients in &args.clients {
            let mut line = format!("| {operation} | {clients} |");
            for (name, _) in &targets {
                let m = &results[&(name.clone(), operation, clients)];
                let errors = if m.errors > 0 { format!(" ({} err)", m.errors) } else { String::new() };
                line += &format!(" {:.0}{errors} | {} | {} |", m.ops_per_second, ms(m.p50), ms(m.p99));
            }
            if targets.len() >= 2 {
                let a = &results[&(targets[0].0.clone(), operation, clients)];
                let b = &results[&(targets[1].0.clone(), operation, clients)];
                line += &format!(" {:.1}× |", a.ops_per_second / b.ops_per_second.max(0.001));
            }
            println!("{line}");
        }
    }
    Ok(())
}
