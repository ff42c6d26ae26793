//! The raw argon2id rate at the service's parameters: the physical limit of logins per second
//! on this machine (docs/benchmarks.md compares login throughput against it).
#![allow(missing_docs, clippy::expect_used)]

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use criterion::{criterion_group, criterion_main, Criterion};
use usvc_security::HashParams;

fn benches(c: &mut Criterion) {
    let p = HashParams::OWASP;
    let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None).expect("params");
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::generate(&mut OsRng);
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(20);
    group.bench_function("hash_owasp_m19456_t2_p1", |b| {
        b.iter(|| {
            argon2
                .hash_password(b"correct horse battery staple", &salt)
                .expect("hash")
        });
    });
    group.finish();
}

criterion_group!(argon2_benches, benches);
criterion_main!(argon2_benches);
