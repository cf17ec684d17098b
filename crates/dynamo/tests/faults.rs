//! Fault tests against the real binary: kill -9 during a stream of transactions, and a
//! PostgreSQL restart under a running server. Each test has its own PostgreSQL cluster.

mod common;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::types::{Put, ScalarAttributeType as T, TransactWriteItem};
use common::{Postgres, create_table, n, s, server_args};

/// The server binary, killed when dropped.
struct ServerProcess {
    child: Child,
    endpoint: String,
}

impl ServerProcess {
    fn start(pg: &Postgres, port: u16) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sweetlies-dynamo"))
            .args(server_args(pg, &format!("127.0.0.1:{port}")))
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sweetlies-dynamo");
        let endpoint = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return ServerProcess { child, endpoint };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("sweetlies-dynamo did not start listening on port {port}");
    }

    fn kill_9(&mut self) {
        let status = Command::new("kill").args(["-9", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn client_without_retries(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let base = common::client_for(endpoint);
    let config = base.config().to_builder().retry_config(RetryConfig::disabled()).build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

fn put_if_absent(table: &str, id: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .item("id", s(id))
                .item("v", n("1"))
                .condition_expression("attribute_not_exists(id)")
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test]
async fn kill_9_during_transactions_loses_no_acknowledged_write() {
    let pg = Postgres::start();
    let port = free_port();
    let mut server = ServerProcess::start(&pg, port);
    let client = client_without_retries(&server.endpoint);
    let table = "fault_tx";
    create_table(&client, table, ("id", T::S), None).await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for worker in 0..8 {
        let client = client.clone();
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut attempted = Vec::new();
            for i in 0..100_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let id = format!("w{worker}-{i}");
                attempted.push(id.clone());
                let result = client
                    .transact_write_items()
                    .transact_items(put_if_absent(table, &format!("{id}-a")))
                    .transact_items(put_if_absent(table, &format!("{id}-b")))
                    .transact_items(put_if_absent(table, &format!("{id}-c")))
                    .send()
                    .await;
                match result {
                    Ok(_) => acknowledged.push(id),
                    Err(_) => break,
                }
            }
            (acknowledged, attempted)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill_9();
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = BTreeSet::new();
    let mut attempted = BTreeSet::new();
    for writer in writers {
        let (acked, tried) = writer.await.unwrap();
        acknowledged.extend(acked);
        attempted.extend(tried);
    }
    assert!(acknowledged.len() > 10, "the stream ran before the kill ({} transactions)", acknowledged.len());

    let server = ServerProcess::start(&pg, port);
    let client = common::client_for(&server.endpoint);
    let mut stored = BTreeSet::new();
    let mut start = None;
    loop {
        let page = client.scan().table_name(table).set_exclusive_start_key(start.take()).send().await.unwrap();
        stored.extend(page.items().iter().map(|i| i["id"].as_s().unwrap().clone()));
        match page.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => break,
        }
    }
    for id in &acknowledged {
        for part in ["a", "b", "c"] {
            assert!(stored.contains(&format!("{id}-{part}")), "acknowledged transaction {id} lost its {part} item");
        }
    }
    for id in &attempted {
        let present = ["a", "b", "c"].iter().filter(|p| stored.contains(&format!("{id}-{p}"))).count();
        assert!(present == 0 || present == 3, "transaction {id} half-applied ({present} of 3 items)");
    }
}

#[tokio::test]
async fn server_recovers_after_postgresql_restart() {
    let pg = Postgres::start();
    let server = ServerProcess::start(&pg, free_port());
    let client = common::client_for(&server.endpoint);
    create_table(&client, "restart", ("id", T::S), None).await;
    client.put_item().table_name("restart").item("id", s("before")).send().await.unwrap();

    pg.stop();
    let during = client_without_retries(&server.endpoint).get_item().table_name("restart").key("id", s("before")).send().await;
    let error = during.expect_err("PostgreSQL is down").into_service_error();
    assert_eq!(error.meta().code(), Some("InternalServerError"), "{error:?}");
    pg.start_again();

    let mut recovered = false;
    for _ in 0..50 {
        if client.put_item().table_name("restart").item("id", s("after")).send().await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "the server serves again after PostgreSQL came back");
    for id in ["before", "after"] {
        let item = client.get_item().table_name("restart").key("id", s(id)).send().await.unwrap();
        assert!(item.item().is_some(), "{id} is stored");
    }
}
