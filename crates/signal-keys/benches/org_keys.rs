//! How long `sweetlies-appliance new` spends on Signal key material.

use criterion::{Criterion, criterion_group, criterion_main};
use signal_keys::{OrgKeys, ServerSecretKeys};

fn org_key_set(c: &mut Criterion) {
    c.bench_function("OrgKeys::generate (OsRng)", |b| {
        b.iter(|| OrgKeys::generate(&mut rand_core::OsRng, 1).unwrap())
    });
    let keys = OrgKeys::from_seed([1; 32], 1).unwrap();
    let entries: Vec<(String, String)> = keys
        .secret
        .secrets_bundle_entries()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_string()))
        .collect();
    c.bench_function("secrets bundle -> ServerSecretKeys -> verify_public (check)", |b| {
        b.iter(|| {
            let lookup = |key: &str| entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
            ServerSecretKeys::from_secrets_bundle(lookup).unwrap().verify_public(&keys.public).unwrap()
        })
    });
}

criterion_group!(benches, org_key_set);
criterion_main!(benches);
