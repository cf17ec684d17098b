use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{BillingMode, KeyType, ReturnValue, ScalarAttributeType as T, Select};

use crate::common::{Av, all_attributes_lsi, attr, b, client, create_table, key, keys_only_gsi, n, s, table_name};

fn message_sort_key(device: u8, timestamp: u64) -> Vec<u8> {
    let mut key = vec![device];
    key.extend_from_slice(&timestamp.to_be_bytes());
    key
}

/// Stores messages like MessagesDynamoDb and pages through them with Limit and
/// ExclusiveStartKey, forwards and backwards, with COUNT, filter and projection.
#[tokio::test]
async fn store_and_page_messages() {
    let client = client();
    let table = table_name("messages");
    create_table(&client, &table, ("H", T::B), Some(("S", T::B))).await;
    let partition = b(b"account-1\x01");
    for i in 0..25u64 {
        client
            .put_item()
            .table_name(&table)
            .item("H", partition.clone())
            .item("S", b(&message_sort_key(1, 1000 + i)))
            .item("E", b(format!("envelope {i}").as_bytes()))
            .item("urgent", Av::Bool(i % 5 == 0))
            .send()
            .await
            .unwrap();
    }
    client.put_item().table_name(&table).item("H", b(b"other")).item("S", b(b"x")).send().await.unwrap();

    let mut seen = Vec::new();
    let mut start: Option<HashMap<String, Av>> = None;
    let mut pages = 0;
    loop {
        let page = client
            .query()
            .table_name(&table)
            .key_condition_expression("#part = :part")
            .expression_attribute_names("#part", "H")
            .expression_attribute_values(":part", partition.clone())
            .consistent_read(true)
            .limit(10)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .expect("Query page");
        pages += 1;
        for item in page.items() {
            seen.push(item["E"].as_b().unwrap().as_ref().to_vec());
        }
        match page.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<Vec<u8>> = (0..25).map(|i| format!("envelope {i}").into_bytes()).collect();
    assert_eq!(seen, expected, "messages come back in sort-key order, each once");

    let newest = client
        .query()
        .table_name(&table)
        .key_condition_expression("H = :part AND S BETWEEN :from AND :to")
        .expression_attribute_values(":part", partition.clone())
        .expression_attribute_values(":from", b(&message_sort_key(1, 1010)))
        .expression_attribute_values(":to", b(&message_sort_key(1, 1019)))
        .scan_index_forward(false)
        .limit(3)
        .send()
        .await
        .unwrap();
    let bodies: Vec<_> = newest.items().iter().map(|i| i["E"].as_b().unwrap().as_ref().to_vec()).collect();
    assert_eq!(bodies, [b"envelope 19".to_vec(), b"envelope 18".to_vec(), b"envelope 17".to_vec()]);

    let urgent = client
        .query()
        .table_name(&table)
        .key_condition_expression("H = :part")
        .filter_expression("urgent = :yes")
        .projection_expression("S")
        .expression_attribute_values(":part", partition.clone())
        .expression_attribute_values(":yes", Av::Bool(true))
        .send()
        .await
        .unwrap();
    assert_eq!(urgent.count(), 5);
    assert_eq!(urgent.scanned_count(), 25);
    assert!(urgent.items().iter().all(|i| i.len() == 1 && i.contains_key("S")));

    let counted = client
        .query()
        .table_name(&table)
        .key_condition_expression("H = :part")
        .expression_attribute_values(":part", partition)
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!(counted.count(), 25);
    assert!(counted.items().is_empty());
}

/// Replays SingleUseECPreKeyStore.take: begins_with on a binary sort key prefix, Limit 1,
/// then DeleteItem with ReturnValues ALL_OLD.
#[tokio::test]
async fn take_one_time_prekey() {
    let client = client();
    let table = table_name("keys");
    create_table(&client, &table, ("U", T::B), Some(("DK", T::B))).await;
    let account = b(b"aci-prekeys");
    for (device, key_id) in [(1u8, 7u64), (1, 3), (2, 1), (1, 9)] {
        let mut sort = vec![device];
        sort.extend_from_slice(&key_id.to_be_bytes());
        client
            .put_item()
            .table_name(&table)
            .item("U", account.clone())
            .item("DK", b(&sort))
            .item("P", b(format!("public key {device}/{key_id}").as_bytes()))
            .send()
            .await
            .unwrap();
    }
    let mut taken = Vec::new();
    loop {
        let found = client
            .query()
            .table_name(&table)
            .key_condition_expression("#uuid = :uuid AND begins_with (#sort, :sortprefix)")
            .expression_attribute_names("#uuid", "U")
            .expression_attribute_names("#sort", "DK")
            .expression_attribute_values(":uuid", account.clone())
            .expression_attribute_values(":sortprefix", b(&[1]))
            .projection_expression("DK")
            .consistent_read(false)
            .limit(1)
            .send()
            .await
            .unwrap();
        let Some(item) = found.items().first() else { break };
        let deleted = client
            .delete_item()
            .table_name(&table)
            .key("U", account.clone())
            .key("DK", item["DK"].clone())
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .unwrap();
        taken.push(String::from_utf8(deleted.attributes().unwrap()["P"].as_b().unwrap().as_ref().to_vec()).unwrap());
    }
    assert_eq!(taken, ["public key 1/3", "public key 1/7", "public key 1/9"], "lowest key id first, device 2 untouched");
}

#[tokio::test]
async fn number_sort_keys_order_numerically() {
    let client = client();
    let table = table_name("numbers_sorted");
    create_table(&client, &table, ("p", T::S), Some(("n", T::N))).await;
    let values = ["-1000", "-2.5", "-2", "0", "0.001", "1", "9", "10", "1e3", "12345678901234567890"];
    for v in values.iter().rev() {
        client.put_item().table_name(&table).item("p", s("x")).item("n", n(v)).send().await.unwrap();
    }
    let all = client
        .query()
        .table_name(&table)
        .key_condition_expression("p = :p AND n > :low")
        .expression_attribute_values(":p", s("x"))
        .expression_attribute_values(":low", n("-2.5"))
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = all.items().iter().map(|i| i["n"].as_n().unwrap().as_str()).collect();
    assert_eq!(got, ["-2", "0", "0.001", "1", "9", "10", "1000", "12345678901234567890"]);
}

/// Accounts-style GSI (KEYS_ONLY, sparse) and an LSI, maintained on put, update and delete.
#[tokio::test]
async fn secondary_indexes_follow_writes() {
    let client = client();
    let table = table_name("indexed");
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("U", T::B))
        .attribute_definitions(attr("T", T::N))
        .attribute_definitions(attr("UL", T::B))
        .attribute_definitions(attr("R", T::N))
        .key_schema(key("U", KeyType::Hash))
        .key_schema(key("T", KeyType::Range))
        .global_secondary_indexes(keys_only_gsi("ul_to_u", "UL"))
        .local_secondary_indexes(all_attributes_lsi("by_rank", "U", "R"))
        .send()
        .await
        .unwrap();
    for (t, rank) in [(1, 30), (2, 10), (3, 20)] {
        client
            .put_item()
            .table_name(&table)
            .item("U", b(b"u1"))
            .item("T", n(&t.to_string()))
            .item("R", n(&rank.to_string()))
            .item("data", s("secret"))
            .send()
            .await
            .unwrap();
    }
    client
        .update_item()
        .table_name(&table)
        .key("U", b(b"u1"))
        .key("T", n("2"))
        .update_expression("SET UL = :link")
        .expression_attribute_values(":link", b(b"link-handle"))
        .send()
        .await
        .unwrap();
    let by_link = |link: &'static [u8]| {
        client
            .query()
            .table_name(&table)
            .index_name("ul_to_u")
            .key_condition_expression("UL = :link")
            .expression_attribute_values(":link", b(link))
            .send()
    };
    let found = by_link(b"link-handle").await.unwrap();
    assert_eq!(found.count(), 1);
    let item = &found.items()[0];
    let names: BTreeSet<&str> = item.keys().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from(["U", "T", "UL"]), "KEYS_ONLY projection");

    let ranked = client
        .query()
        .table_name(&table)
        .index_name("by_rank")
        .key_condition_expression("U = :u AND R >= :r")
        .expression_attribute_values(":u", b(b"u1"))
        .expression_attribute_values(":r", n("15"))
        .send()
        .await
        .unwrap();
    let ts: Vec<&str> = ranked.items().iter().map(|i| i["T"].as_n().unwrap().as_str()).collect();
    assert_eq!(ts, ["3", "1"], "LSI order is by rank");

    client
        .update_item()
        .table_name(&table)
        .key("U", b(b"u1"))
        .key("T", n("2"))
        .update_expression("REMOVE UL")
        .send()
        .await
        .unwrap();
    assert_eq!(by_link(b"link-handle").await.unwrap().count(), 0, "removed attribute leaves the index");

    // Unconditional PutItem and DeleteItem (written without reading first) replace and remove
    // index entries too.
    client
        .put_item()
        .table_name(&table)
        .item("U", b(b"u1"))
        .item("T", n("1"))
        .item("R", n("5"))
        .send()
        .await
        .unwrap();
    client.delete_item().table_name(&table).key("U", b(b"u1")).key("T", n("3")).send().await.unwrap();
    let ranked = client
        .query()
        .table_name(&table)
        .index_name("by_rank")
        .key_condition_expression("U = :u")
        .expression_attribute_values(":u", b(b"u1"))
        .send()
        .await
        .unwrap();
    let ranks: Vec<&str> = ranked.items().iter().map(|i| i["R"].as_n().unwrap().as_str()).collect();
    assert_eq!(ranks, ["5", "10"], "the overwritten item moved in the LSI, the deleted one left it");

    let error = client
        .query()
        .table_name(&table)
        .index_name("ul_to_u")
        .key_condition_expression("UL = :link")
        .expression_attribute_values(":link", b(b"x"))
        .consistent_read(true)
        .send()
        .await
        .expect_err("consistent read on a GSI")
        .into_service_error();
    assert_eq!(error.meta().code(), Some("ValidationException"));

    let error = client
        .put_item()
        .table_name(&table)
        .item("U", b(b"u2"))
        .item("T", n("1"))
        .item("UL", s("not binary"))
        .send()
        .await
        .expect_err("index key of the wrong type")
        .into_service_error();
    assert!(error.meta().message().unwrap().contains("Type mismatch for Index Key"), "{error:?}");
}

/// Parallel scan: every item is in exactly one segment, and paging within a segment works.
#[tokio::test]
async fn parallel_scan_with_paging() {
    let client = client();
    let table = table_name("scan");
    create_table(&client, &table, ("id", T::S), None).await;
    for i in 0..60 {
        client.put_item().table_name(&table).item("id", s(&format!("item-{i}"))).item("i", n(&i.to_string())).send().await.unwrap();
    }
    let mut all = Vec::new();
    for segment in 0..4 {
        let mut start = None;
        loop {
            let page = client
                .scan()
                .table_name(&table)
                .segment(segment)
                .total_segments(4)
                .limit(7)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .unwrap();
            all.extend(page.items().iter().map(|i| i["id"].as_s().unwrap().clone()));
            match page.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => break,
            }
        }
    }
    all.sort();
    let mut expected: Vec<String> = (0..60).map(|i| format!("item-{i}")).collect();
    expected.sort();
    assert_eq!(all, expected);

    let filtered = client
        .scan()
        .table_name(&table)
        .filter_expression("i < :ten")
        .expression_attribute_values(":ten", n("10"))
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.count(), 10);
    assert_eq!(filtered.scanned_count(), 60);
}
