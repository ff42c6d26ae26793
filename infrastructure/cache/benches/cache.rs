//! Criterion micro-benchmarks of the named cache: a hit, a miss that loads, and an insert.
//! Results are recorded in docs/benchmarks.md.
#![allow(missing_docs)]
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed set-up should panic loudly.

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use usvc_cache::{CacheSpec, LocalInvalidation, NamedCache};
use usvc_core::ports::Cache;

fn cache() -> Arc<NamedCache<u64, String>> {
    let spec = CacheSpec {
        name: "bench",
        capacity: 10_000,
        ttl: Duration::from_secs(3600),
    };
    NamedCache::new(spec, Arc::new(LocalInvalidation::new()))
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let hot = cache();
    for i in 0..10_000 {
        hot.insert(i, format!("value-{i}"));
    }
    let mut i = 0u64;
    c.bench_function("cache_hit", |b| {
        b.iter(|| {
            i = (i + 1) % 10_000;
            hot.get(&i)
        });
    });

    let cold = cache();
    let mut key = 0u64;
    c.bench_function("cache_miss_and_load", |b| {
        b.iter(|| {
            key += 1;
            runtime.block_on(cold.get_or_load(key, Box::pin(async move { Ok(key.to_string()) })))
        });
    });

    let target = cache();
    let mut n = 0u64;
    c.bench_function("cache_insert", |b| {
        b.iter(|| {
            n += 1;
            target.insert(n, "value".to_owned());
        });
    });
}

criterion_group!(cache_benches, benches);
criterion_main!(cache_benches);
