//! The workload: three tables shaped like Signal-Server's hot tables and the five operations the
//! issue names, each checked for the answer a DynamoDB would give (a benchmark of wrong answers
//! would measure nothing).
//!
//! - Accounts (`U` B hash; `D` B data, `V` N version): GetItem, and UpdateItem with Signal's
//!   optimistic-locking shape (`SET #data = :data ADD #version :one`, condition
//!   `attribute_exists(#uuid) AND #version = :version`, `UPDATED_NEW`).
//! - Messages (`H` B hash, `S` B range; `E` envelope, `U` message uuid): PutItem of a new message,
//!   Query of a whole 20-message queue with a consistent read.
//! - Keys (`U` B hash, `DK` B range; `P` public key): TransactWriteItems of 4 conditional Puts, like
//!   a batch of one-time pre-keys.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, Put, ReturnValue,
    ScalarAttributeType, TableStatus, TransactWriteItem,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    GetItem,
    PutItem,
    Query,
    UpdateItem,
    TransactWriteItems,
}

impl Operation {
    pub const ALL: [Operation; 5] = [
        Operation::GetItem,
        Operation::PutItem,
        Operation::Query,
        Operation::UpdateItem,
        Operation::TransactWriteItems,
    ];

    /// The DynamoDB operation name.
    pub fn name(self) -> &'static str {
        match self {
            Operation::GetItem => "GetItem",
            Operation::PutItem => "PutItem",
            Operation::Query => "Query",
            Operation::UpdateItem => "UpdateItem",
            Operation::TransactWriteItems => "TransactWriteItems",
        }
    }

    /// How the report names the workload step (the words).
    pub fn label(self) -> &'static str {
        match self {
            Operation::UpdateItem => "UpdateItem (conditional)",
            Operation::TransactWriteItems => "TransactWriteItems (4 items)",
            other => other.name(),
        }
    }
}

impl FromStr for Operation {
    type Err = ();
    fn from_str(s: &str) -> Result<Operation, ()> {
        Operation::ALL
            .into_iter()
            .find(|op| op.name().eq_ignore_ascii_case(s.trim()))
            .ok_or(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("{operation} failed: {message}")]
    Request {
        operation: &'static str,
        message: String,
    },
    #[error("{operation} gave a wrong answer: {what}")]
    WrongAnswer {
        operation: &'static str,
        what: String,
    },
    #[error("table {table} did not become ACTIVE within {seconds} s")]
    NotActive { table: String, seconds: u64 },
}

/// A one-line account of a failed request: the DynamoDB error code and message, else the HTTP
/// status and the start of the body (a crashed server answers with an HTML page), else the
/// transport error.
fn request_error<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> WorkloadError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = match (error.code(), error.raw_response()) {
        (Some(code), _) => format!("{code}: {}", error.message().unwrap_or("")),
        (None, Some(raw)) => {
            let body = raw
                .body()
                .bytes()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            format!("HTTP {}: {body}", raw.status().as_u16())
        }
        (None, None) => DisplayErrorContext(&error).to_string(),
    };
    WorkloadError::Request {
        operation,
        message: one_line(&message, 200),
    }
}

/// Whitespace collapsed, cut to `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &collapsed[..cut]),
        None => collapsed,
    }
}

fn wrong(operation: &'static str, what: impl Into<String>) -> WorkloadError {
    WorkloadError::WrongAnswer {
        operation,
        what: what.into(),
    }
}

pub const PRELOADED_ACCOUNTS: u32 = 256;
pub const PRELOADED_QUEUES: u32 = 64;
pub const MESSAGES_PER_QUEUE: u32 = 20;
const ACCOUNT_DATA_BYTES: usize = 512;
const ENVELOPE_BYTES: usize = 256;
const PUBLIC_KEY_BYTES: usize = 33;
const KEYS_PER_TRANSACTION: u32 = 4;
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Tables {
    pub accounts: String,
    pub messages: String,
    pub keys: String,
}

impl Tables {
    pub fn with_prefix(prefix: &str) -> Tables {
        Tables {
            accounts: format!("{prefix}_Accounts"),
            messages: format!("{prefix}_Messages"),
            keys: format!("{prefix}_Keys"),
        }
    }
}

/// What a 16-byte key identifies, so keys of different purposes never collide.
#[derive(Clone, Copy)]
#[repr(u8)]
enum KeyKind {
    PreloadedAccount = 1,
    UpdatedAccount = 2,
    PreloadedQueue = 3,
    WrittenQueue = 4,
    KeysOwner = 5,
}

/// A UUID-sized binary key: kind, run, index.
fn key16(kind: KeyKind, run: u32, index: u32) -> Blob {
    let mut bytes = [0u8; 16];
    bytes[0] = kind as u8;
    bytes[4..8].copy_from_slice(&run.to_be_bytes());
    bytes[8..12].copy_from_slice(&index.to_be_bytes());
    Blob::new(bytes.to_vec())
}

fn b(blob: &Blob) -> AttributeValue {
    AttributeValue::B(blob.clone())
}

fn random_bytes(rng: &mut fastrand::Rng, len: usize) -> Blob {
    Blob::new((0..len).map(|_| rng.u8(..)).collect::<Vec<u8>>())
}

/// Drops (if present) and creates the three tables, then loads the items GetItem and Query read.
pub async fn setup(client: &Client, tables: &Tables, loaders: usize) -> Result<(), WorkloadError> {
    let definitions: [(&str, &str, Option<&str>); 3] = [
        (&tables.accounts, "U", None),
        (&tables.messages, "H", Some("S")),
        (&tables.keys, "U", Some("DK")),
    ];
    for (table, hash, range) in definitions {
        drop_table(client, table).await?;
        create_table(client, table, hash, range).await?;
    }
    for (table, _, _) in definitions {
        wait_active(client, table).await?;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for loader in 0..loaders as u32 {
        let client = client.clone();
        let tables = tables.clone();
        let step = loaders as u32;
        tasks.spawn(async move {
            let mut rng = fastrand::Rng::with_seed(u64::from(loader));
            for account in (loader..PRELOADED_ACCOUNTS).step_by(step as usize) {
                client
                    .put_item()
                    .table_name(&tables.accounts)
                    .item("U", b(&key16(KeyKind::PreloadedAccount, 0, account)))
                    .item(
                        "D",
                        AttributeValue::B(random_bytes(&mut rng, ACCOUNT_DATA_BYTES)),
                    )
                    .item("V", AttributeValue::N("1".into()))
                    .send()
                    .await
                    .map_err(|e| request_error("PutItem", e))?;
            }
            for slot in (loader..PRELOADED_QUEUES * MESSAGES_PER_QUEUE).step_by(step as usize) {
                let queue = key16(KeyKind::PreloadedQueue, 0, slot / MESSAGES_PER_QUEUE);
                put_message(
                    &client,
                    &tables.messages,
                    &queue,
                    u64::from(slot % MESSAGES_PER_QUEUE),
                    &mut rng,
                )
                .await?;
            }
            Ok::<(), WorkloadError>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("loader task panicked")?;
    }
    Ok(())
}

async fn drop_table(client: &Client, table: &str) -> Result<(), WorkloadError> {
    match client.delete_table().table_name(table).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(());
        }
        Err(e) => return Err(request_error("DeleteTable", e)),
    }
    // Wait until the name is free again (DynamoDB deletes asynchronously).
    let started = Instant::now();
    loop {
        match client.describe_table().table_name(table).send().await {
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(());
            }
            Err(e) => return Err(request_error("DescribeTable", e)),
            Ok(_) if started.elapsed() > TABLE_ACTIVE_TIMEOUT => {
                return Err(wrong(
                    "DeleteTable",
                    format!(
                        "{table} still exists {} s later",
                        TABLE_ACTIVE_TIMEOUT.as_secs()
                    ),
                ));
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn create_table(
    client: &Client,
    table: &str,
    hash: &str,
    range: Option<&str>,
) -> Result<(), WorkloadError> {
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::B)
            .build()
            .expect("name and type are set")
    };
    let key = |name: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .expect("name and type are set")
    };
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(hash))
        .key_schema(key(hash, KeyType::Hash));
    if let Some(range) = range {
        request = request
            .attribute_definitions(attribute(range))
            .key_schema(key(range, KeyType::Range));
    }
    request
        .send()
        .await
        .map_err(|e| request_error("CreateTable", e))?;
    Ok(())
}

async fn wait_active(client: &Client, table: &str) -> Result<(), WorkloadError> {
    let started = Instant::now();
    loop {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| request_error("DescribeTable", e))?;
        if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        if started.elapsed() > TABLE_ACTIVE_TIMEOUT {
            return Err(WorkloadError::NotActive {
                table: table.into(),
                seconds: TABLE_ACTIVE_TIMEOUT.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn put_message(
    client: &Client,
    table: &str,
    queue: &Blob,
    sequence: u64,
    rng: &mut fastrand::Rng,
) -> Result<(), WorkloadError> {
    // Sort key: server timestamp then message UUID, as Signal-Server orders a queue.
    let mut sort = sequence.to_be_bytes().to_vec();
    sort.extend((0..16).map(|_| rng.u8(..)));
    client
        .put_item()
        .table_name(table)
        .item("H", b(queue))
        .item("S", AttributeValue::B(Blob::new(sort)))
        .item("U", AttributeValue::B(random_bytes(rng, 16)))
        .item("E", AttributeValue::B(random_bytes(rng, ENVELOPE_BYTES)))
        .send()
        .await
        .map_err(|e| request_error("PutItem", e))?;
    Ok(())
}

/// One simulated client: its own keys, counters and random stream.
pub struct Worker {
    client: Client,
    tables: Tables,
    run: u32,
    index: u32,
    rng: fastrand::Rng,
    /// UpdateItem: the version this worker last wrote to its own account.
    version: u64,
    /// PutItem: message sequence; TransactWriteItems: next key id.
    sequence: u64,
    account_data: Blob,
}

impl Worker {
    /// `run` must differ between runs that share tables, so their keys never meet.
    pub fn new(client: Client, tables: Tables, run: u32, index: u32) -> Worker {
        let mut rng = fastrand::Rng::with_seed((u64::from(run) << 32) | u64::from(index));
        let account_data = random_bytes(&mut rng, ACCOUNT_DATA_BYTES);
        Worker {
            client,
            tables,
            run,
            index,
            rng,
            version: 0,
            sequence: 0,
            account_data,
        }
    }

    /// Unmeasured set-up before the first `execute` (UpdateItem needs its own account to exist).
    pub async fn prepare(&mut self, operation: Operation) -> Result<(), WorkloadError> {
        if operation == Operation::UpdateItem {
            self.version = 1;
            self.client
                .put_item()
                .table_name(&self.tables.accounts)
                .item(
                    "U",
                    b(&key16(KeyKind::UpdatedAccount, self.run, self.index)),
                )
                .item("D", b(&self.account_data))
                .item("V", AttributeValue::N(self.version.to_string()))
                .send()
                .await
                .map_err(|e| request_error("PutItem", e))?;
        }
        Ok(())
    }

    /// After a failed `execute`: UpdateItem re-reads its account's version, which the failed
    /// request may or may not have changed, so one failure does not doom every later condition.
    pub async fn recover(&mut self, operation: Operation) -> Result<(), WorkloadError> {
        if operation != Operation::UpdateItem {
            return Ok(());
        }
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.accounts)
            .key(
                "U",
                b(&key16(KeyKind::UpdatedAccount, self.run, self.index)),
            )
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| request_error("GetItem", e))?;
        let version = output
            .item()
            .and_then(|i| i.get("V"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok());
        self.version =
            version.ok_or_else(|| wrong("GetItem", "the updated account has no numeric V"))?;
        Ok(())
    }

    pub async fn execute(&mut self, operation: Operation) -> Result<(), WorkloadError> {
        match operation {
            Operation::GetItem => self.get_item().await,
            Operation::PutItem => self.put_item().await,
            Operation::Query => self.query().await,
            Operation::UpdateItem => self.update_item().await,
            Operation::TransactWriteItems => self.transact_write_items().await,
        }
    }

    async fn get_item(&mut self) -> Result<(), WorkloadError> {
        let account = self.rng.u32(..PRELOADED_ACCOUNTS);
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.accounts)
            .key("U", b(&key16(KeyKind::PreloadedAccount, 0, account)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| request_error("GetItem", e))?;
        match output.item() {
            Some(item)
                if item.get("D").is_some_and(|d| {
                    d.as_b()
                        .is_ok_and(|d| d.as_ref().len() == ACCOUNT_DATA_BYTES)
                }) =>
            {
                Ok(())
            }
            Some(_) => Err(wrong(
                "GetItem",
                format!("account {account} came back without its {ACCOUNT_DATA_BYTES}-byte D"),
            )),
            None => Err(wrong(
                "GetItem",
                format!("preloaded account {account} is missing"),
            )),
        }
    }

    async fn put_item(&mut self) -> Result<(), WorkloadError> {
        let queue = key16(KeyKind::WrittenQueue, self.run, self.index);
        self.sequence += 1;
        put_message(
            &self.client,
            &self.tables.messages,
            &queue,
            self.sequence,
            &mut self.rng,
        )
        .await
    }

    async fn query(&mut self) -> Result<(), WorkloadError> {
        let queue = self.rng.u32(..PRELOADED_QUEUES);
        let output = self
            .client
            .query()
            .table_name(&self.tables.messages)
            .key_condition_expression("#part = :part")
            .expression_attribute_names("#part", "H")
            .expression_attribute_values(":part", b(&key16(KeyKind::PreloadedQueue, 0, queue)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| request_error("Query", e))?;
        if output.count() != MESSAGES_PER_QUEUE as i32
            || output.items().len() != MESSAGES_PER_QUEUE as usize
        {
            return Err(wrong(
                "Query",
                format!(
                    "queue {queue} gave {} items, expected {MESSAGES_PER_QUEUE}",
                    output.count()
                ),
            ));
        }
        Ok(())
    }

    async fn update_item(&mut self) -> Result<(), WorkloadError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.tables.accounts)
            .key(
                "U",
                b(&key16(KeyKind::UpdatedAccount, self.run, self.index)),
            )
            .update_expression("SET #data = :data ADD #version :one")
            .condition_expression("attribute_exists(#uuid) AND #version = :version")
            .expression_attribute_names("#uuid", "U")
            .expression_attribute_names("#data", "D")
            .expression_attribute_names("#version", "V")
            .expression_attribute_values(":data", b(&self.account_data))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":version", AttributeValue::N(self.version.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| request_error("UpdateItem", e))?;
        let expected = (self.version + 1).to_string();
        let returned = output
            .attributes()
            .and_then(|a| a.get("V"))
            .and_then(|v| v.as_n().ok());
        if returned != Some(&expected) {
            return Err(wrong(
                "UpdateItem",
                format!("UPDATED_NEW returned V = {returned:?}, expected {expected}"),
            ));
        }
        self.version += 1;
        Ok(())
    }

    async fn transact_write_items(&mut self) -> Result<(), WorkloadError> {
        let owner = key16(KeyKind::KeysOwner, self.run, self.index);
        let mut request = self.client.transact_write_items();
        for _ in 0..KEYS_PER_TRANSACTION {
            self.sequence += 1;
            // Device id then key id, as Signal's key tables sort one device's keys together.
            let mut device_key = vec![1u8];
            device_key.extend_from_slice(&self.sequence.to_be_bytes());
            let item: HashMap<String, AttributeValue> = [
                ("U".to_string(), b(&owner)),
                ("DK".to_string(), AttributeValue::B(Blob::new(device_key))),
                (
                    "P".to_string(),
                    AttributeValue::B(random_bytes(&mut self.rng, PUBLIC_KEY_BYTES)),
                ),
            ]
            .into();
            let put = Put::builder()
                .table_name(&self.tables.keys)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#dk)")
                .expression_attribute_names("#dk", "DK")
                .build()
                .expect("table name and item are set");
            request = request.transact_items(TransactWriteItem::builder().put(put).build());
        }
        request
            .send()
            .await
            .map_err(|e| request_error("TransactWriteItems", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_parse_from_their_dynamodb_names() {
        for op in Operation::ALL {
            assert_eq!(op.name().parse::<Operation>(), Ok(op));
        }
        assert_eq!("query".parse::<Operation>(), Ok(Operation::Query));
        assert_eq!("Scan".parse::<Operation>(), Err(()));
    }

    #[test]
    fn error_text_is_one_short_line() {
        assert_eq!(
            one_line("<h1>500</h1>\n  <p>boom</p>", 200),
            "<h1>500</h1> <p>boom</p>"
        );
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("äöü", 3), "äöü");
    }

    #[test]
    fn keys_of_different_kinds_runs_and_workers_differ() {
        let keys = [
            key16(KeyKind::UpdatedAccount, 1, 2),
            key16(KeyKind::UpdatedAccount, 2, 1),
            key16(KeyKind::UpdatedAccount, 1, 3),
            key16(KeyKind::KeysOwner, 1, 2),
        ];
        for (i, a) in keys.iter().enumerate() {
            assert_eq!(a.as_ref().len(), 16);
            for other in &keys[i + 1..] {
                assert_ne!(a, other);
            }
        }
    }
}
